package dev.imprint.engine.serverconfig;

import com.dd.plist.NSDictionary;
import com.dd.plist.NSNumber;
import com.dd.plist.NSObject;
import com.dd.plist.NSString;
import com.dd.plist.PropertyListParser;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import dev.imprint.engine.job.Refusal;
import java.io.IOException;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Reads a multicast server's configuration: an asr property list (XML or binary) with asr's keys,
 * or a HOCON file with the same keys, which may also list several sessions ({@code sessions = [{
 * source = a.imprint, port = 7800, ...}, ...]}, keys outside the list applying to each). A flag
 * given on the command line wins over the file. Every mistake is a {@link Refusal} naming the key.
 */
public final class ServerConfigReader {
  /** HOCON keys of a session besides asr's. */
  private static final String SOURCE = "source";

  private static final String NAME = "name";
  private static final String SESSIONS = "sessions";

  private ServerConfigReader() {}

  /**
   * The sessions {@code file} describes (null: flags only), with {@code flags} over each.
   *
   * @throws Refusal one line naming the file, the key and the fix
   */
  public static List<SessionConfig> read(Path file, Map<ConfigKey, String> flags)
      throws IOException {
    List<Raw> raws =
        file == null ? List.of(new Raw(new EnumMap<>(ConfigKey.class), null, null)) : parse(file);
    String where = file == null ? "the command line" : file.toString();
    List<SessionConfig> out = new ArrayList<>();
    for (Raw r : raws) {
      Map<ConfigKey, Object> values = new EnumMap<>(r.values);
      values.putAll(flags);
      out.add(check(where, values, r.source, r.name));
    }
    return out;
  }

  /** One session's raw values as the file had them. */
  private record Raw(Map<ConfigKey, Object> values, Path source, String name) {}

  private static List<Raw> parse(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new Refusal(
          "configuration "
              + file
              + (Files.exists(file) ? " is not a file" : " does not exist")
              + ": check the path, or write an example with imprint server --write-config FILE");
    }
    byte[] head;
    try (InputStream in = Files.newInputStream(file)) {
      head = in.readNBytes(64);
    } catch (IOException e) {
      throw new Refusal("cannot read configuration " + file + ": " + e.getMessage());
    }
    String start = new String(head, StandardCharsets.ISO_8859_1).stripLeading();
    if (start.startsWith("\uFEFF")) {
      start = start.substring(1);
    }
    if (start.startsWith("bplist")
        || start.startsWith("<?xml")
        || start.startsWith("<plist")
        || start.startsWith("<!DOCTYPE")) {
      return List.of(new Raw(plist(file), null, null));
    }
    return hocon(file);
  }

  private static Map<ConfigKey, Object> plist(Path file) throws Refusal {
    NSObject root;
    try {
      root = parsePlist(file);
    } catch (Exception e) {
      throw new Refusal(
          "configuration "
              + file
              + " is not a readable property list ("
              + e.getMessage()
              + "): check it with plutil -lint, or write an example with imprint server"
              + " --write-config FILE");
    }
    if (!(root instanceof NSDictionary dict)) {
      throw new Refusal(
          "configuration "
              + file
              + " must hold a dictionary of asr's keys (Data Rate, Multicast"
              + " Address, ...)");
    }
    Map<ConfigKey, Object> values = new EnumMap<>(ConfigKey.class);
    for (Map.Entry<String, NSObject> e : dict.entrySet()) {
      ConfigKey k = known(file, e.getKey());
      NSObject v = e.getValue();
      Object plain;
      if (v instanceof NSNumber n) {
        plain =
            switch (n.type()) {
              case NSNumber.BOOLEAN -> n.boolValue();
              case NSNumber.INTEGER -> n.longValue();
              default -> n.doubleValue();
            };
      } else if (v instanceof NSString s) {
        plain = s.getContent();
      } else {
        plain = v.toJavaObject();
      }
      values.put(k, plain);
    }
    return values;
  }

  /**
   * A binary plist through dd-plist; an XML one through a parser that neither prints its errors to
   * stderr (they become the refusal's one line) nor fetches the DTD.
   */
  private static NSObject parsePlist(Path file) throws Exception {
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length >= 6
        && new String(bytes, 0, 6, StandardCharsets.ISO_8859_1).equals("bplist")) {
      return PropertyListParser.parse(bytes);
    }
    javax.xml.parsers.DocumentBuilderFactory f =
        javax.xml.parsers.DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(false);
    f.setValidating(false);
    f.setExpandEntityReferences(false);
    f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    f.setFeature("http://xml.org/sax/features/external-general-entities", false);
    f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
    javax.xml.parsers.DocumentBuilder b = f.newDocumentBuilder();
    b.setErrorHandler(
        new org.xml.sax.ErrorHandler() {
          @Override
          public void warning(org.xml.sax.SAXParseException e) {}

          @Override
          public void error(org.xml.sax.SAXParseException e) throws org.xml.sax.SAXException {
            throw e;
          }

          @Override
          public void fatalError(org.xml.sax.SAXParseException e) throws org.xml.sax.SAXException {
            throw e;
          }
        });
    return com.dd.plist.XMLPropertyListParser.parse(
        b.parse(new java.io.ByteArrayInputStream(bytes)));
  }

  private static List<Raw> hocon(Path file) throws Refusal {
    Config c;
    try {
      c =
          ConfigFactory.parseFile(
                  file.toFile(), ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF))
              .resolve();
    } catch (ConfigException e) {
      throw new Refusal(
          "configuration "
              + file
              + " is neither a property list nor valid HOCON ("
              + e.getMessage()
              + ")");
    }
    Map<String, Object> top = new LinkedHashMap<>();
    for (Map.Entry<String, ConfigValue> e : c.root().entrySet()) {
      if (!e.getKey().equals(SESSIONS)) {
        top.put(e.getKey(), e.getValue().unwrapped());
      }
    }
    List<Map<String, Object>> sessions = new ArrayList<>();
    if (c.root().containsKey(SESSIONS)) {
      Object list = c.root().get(SESSIONS).unwrapped();
      if (!(list instanceof List<?> l) || l.isEmpty()) {
        throw new Refusal(
            "configuration "
                + file
                + ": sessions must be a non-empty list of {source = IMAGE,"
                + " ...} objects");
      }
      for (Object o : l) {
        if (!(o instanceof Map<?, ?> m)) {
          throw new Refusal(
              "configuration "
                  + file
                  + ": each entry of sessions must be an object like {source"
                  + " = IMAGE, port = 7800}");
        }
        Map<String, Object> merged = new LinkedHashMap<>(top);
        m.forEach((k, v) -> merged.put(String.valueOf(k), v));
        sessions.add(merged);
      }
    } else {
      sessions.add(top);
    }
    List<Raw> out = new ArrayList<>();
    for (Map<String, Object> s : sessions) {
      Map<ConfigKey, Object> values = new EnumMap<>(ConfigKey.class);
      Path source = null;
      String name = null;
      for (Map.Entry<String, Object> e : s.entrySet()) {
        if (e.getKey().equals(SOURCE)) {
          source = file.toAbsolutePath().getParent().resolve(String.valueOf(e.getValue()));
        } else if (e.getKey().equals(NAME)) {
          name = String.valueOf(e.getValue());
        } else {
          values.put(known(file, e.getKey()), e.getValue());
        }
      }
      out.add(new Raw(values, source, name));
    }
    return out;
  }

  private static ConfigKey known(Path file, String key) throws Refusal {
    ConfigKey k = ConfigKey.named(key);
    if (k == null) {
      StringBuilder names = new StringBuilder();
      for (ConfigKey x : ConfigKey.values()) {
        names.append(names.length() == 0 ? "" : ", ").append(x.asrName());
      }
      throw new Refusal(
          "configuration " + file + " has an unknown key '" + key + "': the keys are " + names);
    }
    return k;
  }

  /** The checked session; each refusal names the key and what it takes. */
  static SessionConfig check(String where, Map<ConfigKey, Object> v, Path source, String name)
      throws Refusal {
    List<String> warnings = new ArrayList<>();
    long dataRate = positive(where, v, ConfigKey.DATA_RATE, null);
    Inet4Address group = group(where, v.get(ConfigKey.MULTICAST_ADDRESS));
    OptionalLong clientRate =
        v.containsKey(ConfigKey.CLIENT_DATA_RATE)
            ? OptionalLong.of(positive(where, v, ConfigKey.CLIENT_DATA_RATE, null))
            : OptionalLong.empty();
    boolean dnsSd = bool(where, v, ConfigKey.DNS_SERVICE_DISCOVERY);
    long loopSuspend = whole(where, v, ConfigKey.LOOP_SUSPEND, SessionConfig.DEFAULT_LOOP_SUSPEND);
    if (loopSuspend < 0 || loopSuspend > Integer.MAX_VALUE) {
      throw bad(
          where,
          ConfigKey.LOOP_SUSPEND,
          v.get(ConfigKey.LOOP_SUSPEND),
          "a number of loops, 0 for never");
    }
    long ttl = whole(where, v, ConfigKey.MULTICAST_TTL, SessionConfig.DEFAULT_TTL);
    if (ttl == 0) {
      throw new Refusal(
          where
              + ": Multicast TTL 0 keeps every datagram on this host: use 1 (one LAN segment)"
              + " or more (the default is "
              + SessionConfig.DEFAULT_TTL
              + ")");
    }
    if (ttl < 0 || ttl > 255) {
      throw bad(where, ConfigKey.MULTICAST_TTL, v.get(ConfigKey.MULTICAST_TTL), "1 to 255");
    }
    if (ttl == 1) {
      warnings.add(
          "Multicast TTL 1: the stream stays on this LAN segment (no multicast router will"
              + " forward it)");
    }
    long port = whole(where, v, ConfigKey.PORT, SessionConfig.DEFAULT_PORT);
    if (port < 1 || port > 65535) {
      throw bad(where, ConfigKey.PORT, v.get(ConfigKey.PORT), "a port from 1 to 65535");
    }
    return new SessionConfig(
        name,
        source,
        dataRate,
        group,
        clientRate,
        dnsSd,
        (int) loopSuspend,
        (int) ttl,
        (int) port,
        warnings);
  }

  private static Refusal bad(String where, ConfigKey k, Object value, String takes) {
    return new Refusal(
        where
            + ": "
            + k.asrName()
            + " is '"
            + value
            + "', which is not "
            + takes
            + " (or give "
            + k.flag()
            + ")");
  }

  private static long positive(String where, Map<ConfigKey, Object> v, ConfigKey k, Long dflt)
      throws Refusal {
    if (!v.containsKey(k) && dflt == null) {
      throw new Refusal(
          where
              + ": "
              + k.asrName()
              + " is missing: add it (bytes per second, e.g. 50000000 for"
              + " 50 MB/s), or give "
              + k.flag());
    }
    long n = whole(where, v, k, dflt == null ? 0 : dflt);
    if (n <= 0) {
      throw bad(where, k, v.get(k), "a positive number of bytes per second");
    }
    return n;
  }

  private static long whole(String where, Map<ConfigKey, Object> v, ConfigKey k, long dflt)
      throws Refusal {
    Object o = v.get(k);
    if (o == null) {
      return dflt;
    }
    if (o instanceof Long || o instanceof Integer) {
      return ((Number) o).longValue();
    }
    if (o instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return n.longValue();
    }
    if (o instanceof String s) {
      try {
        return Long.parseLong(s.trim());
      } catch (NumberFormatException e) {
        // Refused below with the key's name.
      }
    }
    throw bad(where, k, o, "a whole number");
  }

  private static boolean bool(String where, Map<ConfigKey, Object> v, ConfigKey k) throws Refusal {
    Object o = v.get(k);
    if (o == null) {
      return SessionConfig.DEFAULT_DNS_SERVICE_DISCOVERY;
    }
    if (o instanceof Boolean b) {
      return b;
    }
    String s = String.valueOf(o).trim().toLowerCase(Locale.ROOT);
    switch (s) {
      case "true", "yes", "1":
        return true;
      case "false", "no", "0":
        return false;
      default:
        throw bad(where, k, o, "true or false");
    }
  }

  private static Inet4Address group(String where, Object o) throws Refusal {
    ConfigKey k = ConfigKey.MULTICAST_ADDRESS;
    if (o == null) {
      throw new Refusal(
          where
              + ": Multicast Address is missing: add a group from 224.0.0.0 to 239.255.255.255"
              + " (e.g. 239.1.2.3), or give "
              + k.flag());
    }
    String s = String.valueOf(o).trim();
    // A literal only: a host name would be looked up, and a group is never a name.
    if (!s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      throw bad(where, k, o, "an IPv4 multicast group from 224.0.0.0 to 239.255.255.255");
    }
    try {
      InetAddress a = InetAddress.getByName(s);
      if (a instanceof Inet4Address g && g.isMulticastAddress()) {
        return g;
      }
    } catch (UnknownHostException e) {
      // Refused below.
    }
    throw bad(where, k, o, "an IPv4 multicast group from 224.0.0.0 to 239.255.255.255");
  }
}
