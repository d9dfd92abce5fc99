package dev.imprint.engine.serverconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.dd.plist.BinaryPropertyListWriter;
import com.dd.plist.NSDictionary;
import dev.imprint.engine.job.Refusal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** asr's property lists (XML and binary), HOCON with several sessions, flags, and every refusal. */
class ServerConfigReaderTest {
  @TempDir Path dir;

  private static String plist(String body) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC"
        + " \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
        + "<plist version=\"1.0\"><dict>"
        + body
        + "</dict></plist>\n";
  }

  private static final String MINIMAL =
      "<key>Data Rate</key><integer>6000000</integer>"
          + "<key>Multicast Address</key><string>239.9.8.7</string>";

  private Path write(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  @Test
  void xmlPlistWithAsrDefaults() throws Exception {
    SessionConfig c = ServerConfigReader.read(write("asr.plist", plist(MINIMAL)), Map.of()).get(0);
    assertEquals(6_000_000, c.dataRate());
    assertEquals("239.9.8.7", c.groupText());
    assertTrue(c.clientDataRate().isEmpty());
    assertTrue(c.dnsServiceDiscovery());
    assertEquals(0, c.loopSuspend());
    assertEquals(3, c.ttl());
    assertEquals(7800, c.port());
    assertTrue(c.warnings().isEmpty());
  }

  @Test
  void binaryPlistEveryKey() throws Exception {
    NSDictionary d = new NSDictionary();
    d.put("Data Rate", 50_000_000L);
    d.put("Multicast Address", "224.1.2.3");
    d.put("Client Data Rate", 20_000_000L);
    d.put("DNS Service Discovery", false);
    d.put("Loop Suspend", 2);
    d.put("Multicast TTL", 1);
    d.put("Port", 7900);
    Path p = dir.resolve("bin.plist");
    BinaryPropertyListWriter.write(p.toFile(), d);
    SessionConfig c = ServerConfigReader.read(p, Map.of()).get(0);
    assertEquals(20_000_000, c.sendRateCeiling());
    assertFalse(c.dnsServiceDiscovery());
    assertEquals(2, c.loopSuspend());
    assertEquals(1, c.ttl());
    assertEquals(7900, c.port());
    assertEquals(1, c.warnings().size(), "TTL 1 is warned about");
  }

  @Test
  void flagsWinOverTheFile() throws Exception {
    SessionConfig c =
        ServerConfigReader.read(
                write("asr.plist", plist(MINIMAL)),
                Map.of(ConfigKey.PORT, "7811", ConfigKey.DATA_RATE, "1000"))
            .get(0);
    assertEquals(7811, c.port());
    assertEquals(1000, c.dataRate());
    SessionConfig flagsOnly =
        ServerConfigReader.read(
                null, Map.of(ConfigKey.DATA_RATE, "5", ConfigKey.MULTICAST_ADDRESS, "239.0.0.1"))
            .get(0);
    assertEquals(5, flagsOnly.dataRate());
  }

  @Test
  void hoconWithSessions() throws Exception {
    Path f =
        write(
            "lab.conf",
            "data-rate = 1000000\n\"Multicast TTL\" = 4\nsessions = [\n"
                + " { source = a.imprint, multicast-address = \"239.1.1.1\", port = 7800 }\n"
                + " { source = b.imprint, name = lab-b, multicast-address = \"239.1.1.2\","
                + " port = 7810, data-rate = 2000 }\n]\n");
    List<SessionConfig> s = ServerConfigReader.read(f, Map.of());
    assertEquals(2, s.size());
    assertEquals(dir.resolve("a.imprint").toAbsolutePath(), s.get(0).source());
    assertEquals(1_000_000, s.get(0).dataRate());
    assertEquals(2000, s.get(1).dataRate());
    assertEquals(4, s.get(1).ttl());
    assertEquals("lab-b", s.get(1).name());
    assertEquals(7810, s.get(1).port());
  }

  @Test
  void theWrittenExamplesRead() throws Exception {
    assertEquals(
        1,
        ServerConfigReader.read(write("x.plist", ExampleConfig.forFile("x.plist")), Map.of())
            .size());
    assertEquals(
        2,
        ServerConfigReader.read(write("x.conf", ExampleConfig.forFile("x.conf")), Map.of()).size());
  }

  /** Each bad or missing key is refused in one line that names it. */
  @Test
  void everyKeyRefusedByName() throws Exception {
    String rate = "<key>Data Rate</key><integer>6000000</integer>";
    String group = "<key>Multicast Address</key><string>239.9.8.7</string>";
    Object[][] cases = {
      {group, "Data Rate is missing"},
      {rate, "Multicast Address is missing"},
      {"<key>Data Rate</key><string>fast</string>" + group, "Data Rate"},
      {"<key>Data Rate</key><integer>0</integer>" + group, "Data Rate"},
      {rate + "<key>Multicast Address</key><string>10.0.0.1</string>", "Multicast Address"},
      {rate + "<key>Multicast Address</key><string>lab.example</string>", "Multicast Address"},
      {MINIMAL + "<key>Client Data Rate</key><integer>-1</integer>", "Client Data Rate"},
      {MINIMAL + "<key>DNS Service Discovery</key><string>maybe</string>", "DNS Service Discovery"},
      {MINIMAL + "<key>Loop Suspend</key><integer>-1</integer>", "Loop Suspend"},
      {MINIMAL + "<key>Multicast TTL</key><integer>0</integer>", "Multicast TTL 0"},
      {MINIMAL + "<key>Multicast TTL</key><integer>300</integer>", "Multicast TTL"},
      {MINIMAL + "<key>Port</key><integer>70000</integer>", "Port"},
      {MINIMAL + "<key>Data Rat</key><integer>1</integer>", "'Data Rat'"},
    };
    for (Object[] c : cases) {
      Path f = write("bad.plist", plist((String) c[0]));
      Refusal r = assertThrows(Refusal.class, () -> ServerConfigReader.read(f, Map.of()));
      assertTrue(r.getMessage().contains((String) c[1]), c[1] + " in: " + r.getMessage());
      assertFalse(r.getMessage().contains("\n"), r.getMessage());
    }
    Refusal flag =
        assertThrows(
            Refusal.class,
            () ->
                ServerConfigReader.read(
                    write("ok.plist", plist(MINIMAL)), Map.of(ConfigKey.PORT, "abc")));
    assertTrue(flag.getMessage().contains("Port is 'abc'"), flag.getMessage());
    Refusal broken =
        assertThrows(
            Refusal.class,
            () ->
                ServerConfigReader.read(
                    write("broken.plist", "<?xml version=\"1.0\"?><plist"), Map.of()));
    assertTrue(broken.getMessage().contains("not a readable property list"), broken.getMessage());
  }
}
