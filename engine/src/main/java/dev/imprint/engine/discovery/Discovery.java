package dev.imprint.engine.discovery;

import java.io.Closeable;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.jmdns.JmDNS;
import javax.jmdns.ServiceInfo;

/**
 * DNS-SD (multicast DNS) for multicast sessions: a server advertises each session as a {@value
 * #TYPE} service whose TXT record names the image and its digest; {@code imprint browse} lists
 * them.
 */
public final class Discovery {
  public static final String TYPE = "_imprint._tcp.local.";

  private Discovery() {}

  /** A session as found on the network. */
  public record Found(String name, String host, int port, String image, String digest) {
    public String url() {
      return "asr://" + host + ":" + port;
    }
  }

  /** The first IPv4 address of {@code nif}, or the system's choice when null. */
  public static InetAddress addressOf(NetworkInterface nif) throws IOException {
    if (nif == null) {
      return null;
    }
    return nif.inetAddresses()
        .filter(a -> a instanceof Inet4Address)
        .findFirst()
        .orElseThrow(() -> new IOException(nif.getName() + " has no IPv4 address"));
  }

  /**
   * Advertises one session until closed.
   *
   * @param bind the address to answer on (null: the system's choice)
   */
  public static Closeable advertise(
      InetAddress bind, String name, int port, String image, byte[] digest) throws IOException {
    JmDNS dns = bind == null ? JmDNS.create() : JmDNS.create(bind);
    try {
      ServiceInfo info =
          ServiceInfo.create(
              TYPE,
              name,
              port,
              0,
              0,
              Map.of("image", image, "digest", HexFormat.of().formatHex(digest), "protocol", "1"));
      dns.registerService(info);
    } catch (IOException | RuntimeException e) {
      dns.close();
      throw e;
    }
    return dns;
  }

  /** The sessions that answer within {@code wait}. */
  public static List<Found> browse(InetAddress bind, Duration wait) throws IOException {
    try (JmDNS dns = bind == null ? JmDNS.create() : JmDNS.create(bind)) {
      List<Found> out = new ArrayList<>();
      for (ServiceInfo s : dns.list(TYPE, wait.toMillis())) {
        String[] hosts = s.getHostAddresses();
        out.add(
            new Found(
                s.getName(),
                hosts.length > 0 ? hosts[0] : s.getServer(),
                s.getPort(),
                String.valueOf(s.getPropertyString("image")),
                String.valueOf(s.getPropertyString("digest"))));
      }
      return out;
    }
  }
}
