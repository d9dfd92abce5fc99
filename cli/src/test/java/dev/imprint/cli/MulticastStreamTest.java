package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.cli.MulticastServerTest.Served;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.NetLab;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restores from the multicast stream between network namespaces (root): three clients under 0% and
 * 5% random loss to files and loop devices; a late joiner and a client killed and restarted
 * mid-stream; a server restarted mid-stream; a client at 20% loss shown and not followed by the
 * parity while a clean one receives; a rogue sender flooding the group and port with random and
 * altered datagrams while a second server streams another image on the same group and port. Every
 * target byte-exact.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class MulticastStreamTest {
  private static final long MIB = 1 << 20;

  @TempDir static Path shared;

  private static Path rawA;
  private static Path rawB;
  private static Path imageA;
  private static Path imageB;

  @TempDir Path dir;

  @BeforeAll
  static void images() throws IOException {
    NetLab.assumeAvailable();
    rawA = MulticastServerTest.disk(shared.resolve("a.raw"), 11);
    rawB = MulticastServerTest.disk(shared.resolve("b.raw"), 12);
    imageA = MulticastServerTest.create(rawA, shared.resolve("a.imprint"));
    imageB = MulticastServerTest.create(rawB, shared.resolve("b.imprint"));
    // A one-digit day of the month: the server's ranges must give the Last-Modified its whole
    // file gives ("05", not "5"), or every client sees the image change under it.
    Files.setLastModifiedTime(
        imageA,
        java.nio.file.attribute.FileTime.from(java.time.Instant.parse("2026-01-05T03:04:05Z")));
  }

  /** A server of {@code image} on {@code group}:7800 at {@code rate} bytes/s, JSON output. */
  private Served server(NetLab lab, String ns, Path image, String group, long rate)
      throws IOException {
    return new Served(
        lab,
        ns,
        dir,
        "server",
        "--source",
        image.toString(),
        "--data-rate",
        Long.toString(rate),
        "--multicast-address",
        group,
        "--dns-service-discovery",
        "false",
        "--fixed-rate",
        "--json");
  }

  /** A restore in {@code ns} from the server, running; its output goes to a file. */
  private Process client(NetLab lab, String ns, String name, List<String> targets, String... more)
      throws IOException {
    List<String> argv = new ArrayList<>(List.of(lab.in(ns, MulticastServerTest.java())));
    argv.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName(),
            "restore",
            "--source",
            "asr://" + lab.address(lab.server()),
            "--erase",
            "--noprompt",
            "--interface",
            lab.interfaceName(),
            "--timeout",
            "120"));
    for (String t : targets) {
      argv.add("--target");
      argv.add(t);
    }
    argv.addAll(List.of(more));
    return new ProcessBuilder(argv)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".out").toFile())
        .start();
  }

  private String output(String name) throws IOException {
    return Files.readString(dir.resolve(name + ".out"));
  }

  private void finished(Process p, String name) throws Exception {
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), name + " did not finish: " + output(name));
    assertEquals(0, p.exitValue(), () -> name + ": " + safeOutput(name));
    assertTrue(output(name).contains("Restore completed successfully"), output(name));
  }

  private String safeOutput(String name) {
    try {
      return output(name);
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Every value of numeric {@code field} the server showed for the client at {@code address}. */
  private static List<Double> shown(Served s, String address, String field) {
    Matcher m =
        Pattern.compile(
                "\"address\":\""
                    + Pattern.quote(address)
                    + "\".*?\""
                    + Pattern.quote(field)
                    + "\":([0-9.]+)")
            .matcher(s.text());
    List<Double> out = new ArrayList<>();
    while (m.find()) {
      out.add(Double.parseDouble(m.group(1)));
    }
    return out;
  }

  /**
   * The percent the server last showed for the client at {@code address} (a live line or its
   * summary: on a quiet machine a client may finish between two live lines), or -1.
   */
  private static double percentOf(Served s, String address) {
    List<Double> p = shown(s, address, "percent");
    return p.isEmpty() ? -1 : p.get(p.size() - 1);
  }

  private static void awaitPercent(Served s, String address, double percent) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(420);
    while (percentOf(s, address) < percent) {
      assertTrue(
          System.nanoTime() < deadline,
          () -> address + " never reached " + percent + "%: " + s.text());
      Thread.sleep(100);
    }
  }

  @Test
  void threeClientsUnderLossToFilesAndLoopDevices() throws Exception {
    try (NetLab lab = NetLab.create(3);
        Served server = server(lab, lab.server(), imageA, "239.78.1.1", 16_000_000)) {
      server.ready(1);
      List<String> c = lab.clients();
      lab.loss(c.get(1), 5);
      lab.loss(c.get(2), 5);
      Path f1 = dir.resolve("c1.img");
      Path f3 = dir.resolve("c3.img");
      Path back2 = dir.resolve("loop2.img");
      Path back3 = dir.resolve("loop3.img");
      TestData.setLength(back2, 48 * MIB);
      TestData.setLength(back3, 48 * MIB);
      try (LoopDevice l2 = LoopDevice.attach(back2);
          LoopDevice l3 = LoopDevice.attach(back3)) {
        Process p1 = client(lab, c.get(0), "c1", List.of(f1.toString()));
        Process p2 = client(lab, c.get(1), "c2", List.of(l2.path().toString()));
        Process p3 = client(lab, c.get(2), "c3", List.of(f3.toString(), l3.path().toString()));
        finished(p1, "c1");
        finished(p2, "c2");
        finished(p3, "c3");
      }
      assertEquals(-1L, Files.mismatch(rawA, f1));
      assertEquals(-1L, Files.mismatch(rawA, back2));
      assertEquals(-1L, Files.mismatch(rawA, f3));
      assertEquals(-1L, Files.mismatch(rawA, back3));
      assertEquals(0, server.stop(), server::text);
      assertTrue(server.text().contains("\"event\":\"stream\""), server::text);
      assertTrue(server.text().contains("\"how\":\"done\""), server::text);
    }
  }

  @Test
  void lateJoinerAndRestartedClient() throws Exception {
    try (NetLab lab = NetLab.create(3);
        Served server = server(lab, lab.server(), imageA, "239.78.2.1", 3_000_000)) {
      server.ready(1);
      List<String> c = lab.clients();
      Path f1 = dir.resolve("c1.img");
      Path f2 = dir.resolve("c2.img");
      Path f3 = dir.resolve("c3.img");
      Process p1 = client(lab, c.get(0), "c1", List.of(f1.toString()));
      Process p3 = client(lab, c.get(2), "c3", List.of(f3.toString()));
      // About half of the first loop: the late joiner starts there.
      awaitPercent(server, lab.address(c.get(0)), 40);
      Process p2 = client(lab, c.get(1), "c2", List.of(f2.toString()));
      // c3 dies mid-stream and starts again from the beginning.
      awaitPercent(server, lab.address(c.get(2)), 20);
      p3.destroyForcibly();
      assertTrue(p3.waitFor(30, TimeUnit.SECONDS));
      Process again = client(lab, c.get(2), "c3-again", List.of(f3.toString()));
      finished(p1, "c1");
      finished(p2, "c2");
      finished(again, "c3-again");
      assertEquals(-1L, Files.mismatch(rawA, f1));
      assertEquals(-1L, Files.mismatch(rawA, f2));
      assertEquals(-1L, Files.mismatch(rawA, f3));
      assertEquals(0, server.stop(), server::text);
    }
  }

  /**
   * The parity of each loop the server started while the client at {@code address} was receiving
   * (from its first "receiving" report until it was gone), from the server's JSON stream events.
   */
  private static List<Integer> paritiesWhileReceiving(Served s, String address) {
    Pattern stream = Pattern.compile("\"event\":\"stream\".*?\"parity\":(\\d+)");
    String at = "\"address\":\"" + address + "\"";
    List<Integer> out = new ArrayList<>();
    boolean receiving = false;
    for (String line : s.text().split("\n")) {
      if (line.contains(at) && line.contains("\"event\":\"client-gone\"")) {
        break;
      }
      if (line.contains(at)
          && line.contains("\"event\":\"client\"")
          && line.contains("\"state\":\"receiving\"")) {
        receiving = true;
      }
      Matcher m = stream.matcher(line);
      if (receiving && m.find()) {
        out.add(Integer.parseInt(m.group(1)));
      }
    }
    return out;
  }

  /** The highest loss the server showed for the client at {@code address}. */
  private static double worstLossOf(Served s, String address) {
    return shown(s, address, "loss").stream().mapToDouble(Double::doubleValue).max().orElse(0);
  }

  @Test
  void aLossyClientIsShownAndDoesNotRaiseTheParity() throws Exception {
    try (NetLab lab = NetLab.create(3);
        Served server = server(lab, lab.server(), imageA, "239.78.4.1", 3_000_000)) {
      server.ready(1);
      List<String> c = lab.clients();
      lab.loss(c.get(2), 20);
      Path f1 = dir.resolve("c1.img");
      Path f2 = dir.resolve("c2.img");
      Path f3 = dir.resolve("c3.img");
      Process p1 = client(lab, c.get(0), "c1", List.of(f1.toString()));
      // The other two join once the stream runs, without repair: both still receive when the
      // second loop starts, the lossy one for longer.
      awaitPercent(server, lab.address(c.get(0)), 1);
      Process p2 = client(lab, c.get(1), "c2", List.of(f2.toString()), "--repair-limit", "0");
      Process p3 = client(lab, c.get(2), "c3", List.of(f3.toString()), "--repair-limit", "0");
      finished(p1, "c1");
      finished(p2, "c2");
      assertTrue(p3.isAlive() || p3.exitValue() == 0, () -> safeOutput("c3"));
      finished(p3, "c3");
      assertEquals(-1L, Files.mismatch(rawA, f1));
      assertEquals(-1L, Files.mismatch(rawA, f2));
      assertEquals(-1L, Files.mismatch(rawA, f3));
      assertEquals(0, server.stop(), server::text);
      // Shown: its loss is on the server's lines.
      double loss = worstLossOf(server, lab.address(c.get(2)));
      assertTrue(loss > 0.1, () -> "the lossy client's loss is not shown: " + server.text());
      // Not followed: 20% loss needs about 30 parity symbols per block of 100; every loop that
      // began while the late clean client received beside the lossy one kept to what the clean
      // need. (Before it reports, or once it is gone, the parity may follow the lossy one: it
      // slows nobody.) It joined mid-loop, so at least one loop began while it received.
      List<Integer> p = paritiesWhileReceiving(server, lab.address(c.get(1)));
      assertFalse(
          p.isEmpty(), () -> "no loop began while the clean client received: " + server.text());
      for (int parity : p) {
        assertTrue(parity <= 8, "parity " + p + " followed the lossy client: " + server.text());
      }
    }
  }

  @Test
  void serverRestartedMidStream() throws Exception {
    try (NetLab lab = NetLab.create(2)) {
      List<String> c = lab.clients();
      Path f1 = dir.resolve("c1.img");
      Path f2 = dir.resolve("c2.img");
      Process p1;
      Process p2;
      try (Served first = server(lab, lab.server(), imageA, "239.78.5.1", 2_000_000)) {
        first.ready(1);
        p1 = client(lab, c.get(0), "c1", List.of(f1.toString()), "--repair-limit", "0");
        p2 = client(lab, c.get(1), "c2", List.of(f2.toString()), "--repair-limit", "0");
        awaitPercent(first, lab.address(c.get(0)), 30);
        assertEquals(0, first.stop(), first::text);
      }
      assertTrue(p1.isAlive() && p2.isAlive(), () -> safeOutput("c1") + safeOutput("c2"));
      // The same image from a new server process: a new session, found by the clients.
      try (Served second = server(lab, lab.server(), imageA, "239.78.5.1", 2_000_000)) {
        second.ready(1);
        finished(p1, "c1");
        finished(p2, "c2");
        assertEquals(-1L, Files.mismatch(rawA, f1));
        assertEquals(-1L, Files.mismatch(rawA, f2));
        assertEquals(0, second.stop(), second::text);
        // The new server's datagrams are another session's: only a client that shook hands
        // again took them (one that did not would have stopped at its --timeout).
        assertTrue(second.text().contains("\"how\":\"done\""), second::text);
        assertTrue(second.text().contains("\"event\":\"stream\""), second::text);
      }
    }
  }

  /** Runs curl in namespace {@code ns} and waits for it to succeed. */
  private void curl(String ns, String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns, "curl", "-sf"));
    argv.addAll(List.of(args));
    Process p =
        new ProcessBuilder(argv)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("curl.out").toFile()))
            .start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "curl " + args[args.length - 1]);
    assertEquals(0, p.exitValue(), () -> "curl " + String.join(" ", args));
  }

  @Test
  void rogueSenderAndASecondServerOnTheSameGroupAndPort() throws Exception {
    try (NetLab lab = NetLab.create(2)) {
      String other = lab.add("other");
      String rogue = lab.add("rogue");
      try (Served server = server(lab, lab.server(), imageA, "239.78.3.1", 8_000_000);
          Served second = server(lab, other, imageB, "239.78.3.1", 8_000_000)) {
        server.ready(1);
        second.ready(1);
        // The second server streams as soon as a client that shook hands with it says it
        // listens: its first client, c1.
        String base = "http://" + lab.address(other) + ":7800/imprint/v1/";
        curl(rogue, base + "handshake?version=1");
        // Held: the server reports its joining client (once a second) and sends nothing.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (second.text().split("\"state\":\"joining\"", -1).length < 3) {
          assertTrue(System.nanoTime() < deadline, second::text);
          Thread.sleep(50); // polling interval
        }
        assertFalse(second.text().contains("\"event\":\"stream\""), second::text);
        curl(
            rogue,
            "-H",
            "Content-Type: application/json",
            "--data",
            "{\"client\": \"c1\", \"state\": \"listening\", \"done\": 0, \"total\": 0,"
                + " \"loss\": 0, \"write-rate\": 0, \"detail\": \"\"}",
            base + "report");
        List<String> argv = new ArrayList<>(List.of(lab.in(rogue, MulticastServerTest.java())));
        argv.addAll(
            List.of(
                "-cp",
                System.getProperty("java.class.path"),
                RogueSender.class.getName(),
                "239.78.3.1",
                "7800",
                "90",
                lab.interfaceName()));
        Process flood =
            new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("rogue.out").toFile())
                .start();
        try {
          List<String> c = lab.clients();
          Path f1 = dir.resolve("c1.img");
          Path f2 = dir.resolve("c2.img");
          Process p1 = client(lab, c.get(0), "c1", List.of(f1.toString()));
          Process p2 = client(lab, c.get(1), "c2", List.of(f2.toString()));
          finished(p1, "c1");
          finished(p2, "c2");
          assertEquals(-1L, Files.mismatch(rawA, f1), "no byte of the rogue or image B");
          assertEquals(-1L, Files.mismatch(rawA, f2));
        } finally {
          flood.destroyForcibly();
        }
        assertEquals(0, server.stop(), server::text);
        assertEquals(0, second.stop(), second::text);
        assertTrue(second.text().contains("\"event\":\"stream\""), second::text);
      }
    }
  }
}
