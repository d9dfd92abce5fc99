package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.signing.Keys;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.NetLab;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code imprint server} and {@code restore --source asr://}: bad configurations, an unreachable
 * server, and, between network namespaces (root), a network that drops all multicast (the one-line
 * diagnosis, then the unicast fallback byte-exact), the handshake with --trust, --token and
 * --allow, and two sessions from one process beside a second server process.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class MulticastServerTest {
  private static final long MIB = 1 << 20;

  @TempDir static Path shared;

  private static Path rawA;
  private static Path rawB;
  private static Path imageA;
  private static Path imageB;
  private static Path signKey;
  private static Path otherKey;

  @TempDir Path dir;

  @BeforeAll
  static void images() throws IOException {
    rawA = disk(shared.resolve("a.raw"), 1);
    rawB = disk(shared.resolve("b.raw"), 2);
    signKey = shared.resolve("a.key");
    otherKey = shared.resolve("b.key");
    assertEquals(0, CliRun.run("keygen", "--output", signKey.toString()).code());
    assertEquals(0, CliRun.run("keygen", "--output", otherKey.toString()).code());
    imageA = create(rawA, shared.resolve("a.imprint"), "--sign", signKey.toString());
    imageB = create(rawB, shared.resolve("b.imprint"));
  }

  /** 48 MiB with 12 MiB of random data in three places, the rest holes. */
  static Path disk(Path p, long seed) throws IOException {
    TestData.setLength(p, 48 * MIB);
    try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
      for (int i = 0; i < 3; i++) {
        ch.write(
            java.nio.ByteBuffer.wrap(TestData.random(4 * MIB + 4097 * i, seed * 10 + i)),
            i * 16 * MIB + 8192);
      }
    }
    return p;
  }

  static Path create(Path raw, Path image, String... more) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "create",
                "--source",
                raw.toString(),
                "--output",
                image.toString(),
                "--all-blocks"));
    a.addAll(List.of(more));
    CliRun.Result r = CliRun.run(a.toArray(String[]::new));
    assertEquals(0, r.code(), r::toString);
    return image;
  }

  private Path plist(String body) throws IOException {
    Path p = dir.resolve("asr-" + System.nanoTime() + ".plist");
    Files.writeString(
        p,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
            + body
            + "</dict></plist>\n");
    return p;
  }

  private static String rate(long r) {
    return "<key>Data Rate</key><integer>" + r + "</integer>";
  }

  private static String group(String g) {
    return "<key>Multicast Address</key><string>" + g + "</string>";
  }

  private static void assertOneLine(CliRun.Result r, int code, String... words) {
    assertEquals(code, r.code(), r::toString);
    String err = r.err().trim();
    assertFalse(err.contains("\n"), () -> "one line: " + r);
    assertFalse(err.contains("Exception"), r::toString);
    for (String w : words) {
      assertTrue(err.contains(w), () -> "'" + w + "' in: " + r);
    }
  }

  @Test
  void badConfigurationsNameTheKey() throws IOException {
    String src = imageA.toString();
    assertOneLine(
        CliRun.run("server", "--source", src, "--config", plist(group("239.1.1.1")).toString()),
        2,
        "Data Rate is missing");
    assertOneLine(
        CliRun.run("server", "--source", src, "--config", plist(rate(1000)).toString()),
        2,
        "Multicast Address is missing");
    assertOneLine(
        CliRun.run("-server", plist(rate(1000) + group("192.168.1.1")).toString(), "-source", src),
        2,
        "Multicast Address");
    Path ok = plist(rate(1000) + group("239.1.1.1"));
    assertOneLine(
        CliRun.run("server", "--source", src, "--config", ok.toString(), "--multicast-ttl", "0"),
        2,
        "Multicast TTL 0");
    assertOneLine(
        CliRun.run("server", "--source", src, "--config", ok.toString(), "--port", "0"), 2, "Port");
    assertOneLine(
        CliRun.run("server", "--source", src, "--config", ok.toString(), "--loop-suspend", "x"),
        2,
        "Loop Suspend");
    assertOneLine(
        CliRun.run(
            "server", "--source", src, "--config", ok.toString(), "--client-data-rate", "-5"),
        2,
        "Client Data Rate");
    assertOneLine(
        CliRun.run(
            "server",
            "--source",
            src,
            "--config",
            ok.toString(),
            "--dns-service-discovery",
            "perhaps"),
        2,
        "DNS Service Discovery");
    assertOneLine(
        CliRun.run("server", "--source", src, "--config", dir.resolve("none.plist").toString()),
        2,
        "does not exist");
    assertOneLine(
        CliRun.run(
            "server",
            "--source",
            dir.resolve("none.imprint").toString(),
            "--config",
            ok.toString()),
        2,
        "does not exist");
    Path example = dir.resolve("example.plist");
    assertEquals(0, CliRun.run("server", "--write-config", example.toString()).code());
    assertTrue(Files.readString(example).contains("<key>Data Rate</key>"));
    assertOneLine(CliRun.run("server", "--write-config", example.toString()), 2, "exists");
  }

  @Test
  void unreachableServer() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            "asr://127.0.0.1:" + port,
            "--target",
            dir.resolve("t.img").toString(),
            "--erase",
            "--noprompt");
    assertEquals(2, r.code(), r::toString);
    assertTrue(
        r.err().contains("cannot reach the imprint server at asr://127.0.0.1:" + port),
        r::toString);
    assertFalse(Files.exists(dir.resolve("t.img")));
    assertOneLine(
        CliRun.run(
            "restore",
            "--source",
            rawA.toString(),
            "--target",
            dir.resolve("t.img").toString(),
            "--erase",
            "--noprompt",
            "--unicast-fallback"),
        2,
        "--unicast-fallback",
        "asr://");
  }

  // ------------------------------------------------------------- between network namespaces

  /** A server process in a namespace: started, waited for, stopped with SIGTERM. */
  static final class Served implements AutoCloseable {
    final Process process;
    final Path out;

    Served(NetLab lab, String ns, Path dir, String... args) throws IOException {
      out = Files.createTempFile(dir, "server", ".out");
      List<String> argv = new ArrayList<>(List.of(lab.in(ns, java())));
      argv.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
      argv.addAll(List.of(args));
      process =
          new ProcessBuilder(argv)
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
    }

    /** Waits until the server printed {@code count} Ready lines. */
    Served ready(int count) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (count(text(), "Ready to start accepting clients")
              + count(text(), "\"event\":\"ready\"")
          < count) {
        assertTrue(process.isAlive(), () -> "server ended: " + text());
        assertTrue(System.nanoTime() < deadline, () -> "server not ready in 90 s: " + text());
        Thread.sleep(100);
      }
      return this;
    }

    private static int count(String text, String what) {
      return text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }

    String text() {
      try {
        return Files.readString(out);
      } catch (IOException e) {
        return e.toString();
      }
    }

    /** SIGTERM: the server closes its sessions and exits 0 promptly. */
    int stop() throws Exception {
      // ip netns exec replaces itself with java: the pid is the server's.
      new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).start().waitFor();
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), () -> "server ignored SIGTERM: " + text());
      return process.exitValue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** {@code imprint ARGS} as a process inside {@code ns}. */
  static Cmd.Result imprint(NetLab lab, String ns, String... args) {
    List<String> argv = new ArrayList<>(List.of(lab.in(ns, java())));
    argv.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    argv.addAll(List.of(args));
    return Cmd.result(argv.toArray(String[]::new));
  }

  private Path config(String group, int port) throws IOException {
    return plist(
        rate(20_000_000)
            + group(group)
            + "<key>Port</key><integer>"
            + port
            + "</integer><key>DNS Service Discovery</key><false/>");
  }

  @Test
  void multicastBlockedThenUnicastFallback() throws Exception {
    NetLab.assumeAvailable();
    try (NetLab lab = NetLab.create(1);
        Served server =
            new Served(
                lab,
                lab.server(),
                dir,
                "server",
                "--source",
                imageA.toString(),
                "--config",
                config("239.77.1.1", 7800).toString())) {
      server.ready(1);
      String client = lab.clients().get(0);
      lab.dropMulticast(client);
      String url = "asr://" + lab.address(lab.server());
      Path t = dir.resolve("a.img");
      Cmd.Result refused =
          imprint(
              lab,
              client,
              "restore",
              "--source",
              url,
              "--target",
              t.toString(),
              "--erase",
              "--noprompt");
      assertEquals(2, refused.exitCode(), refused::toString);
      assertTrue(
          refused.stderr().contains("no multicast arrived from 239.77.1.1 port 7800"),
          refused::toString);
      assertTrue(refused.stderr().contains("IGMP snooping"), refused::toString);
      assertTrue(refused.stderr().contains("--unicast-fallback"), refused::toString);

      Cmd.Result ok =
          imprint(
              lab,
              client,
              "restore",
              "--source",
              url,
              "--target",
              t.toString(),
              "--erase",
              "--noprompt",
              "--unicast-fallback",
              "--interface",
              lab.interfaceName());
      assertEquals(0, ok.exitCode(), ok::toString);
      assertTrue(ok.stderr().contains("restoring over the control channel"), ok::toString);
      assertEquals(-1L, Files.mismatch(rawA, t), "the target is the image, byte for byte");
      assertEquals(0, server.stop(), server::text);
      assertTrue(server.text().contains("Client " + lab.address(client)), server::text);
    }
  }

  @Test
  void handshakeTrustTokenAndAllow() throws Exception {
    NetLab.assumeAvailable();
    try (NetLab lab = NetLab.create(2)) {
      String c1 = lab.clients().get(0);
      String c2 = lab.clients().get(1);
      try (Served server =
          new Served(
              lab,
              lab.server(),
              dir,
              "server",
              "--source",
              imageA.toString(),
              "--config",
              config("239.77.2.1", 7801).toString(),
              "--token",
              "s3cret",
              "--allow",
              lab.address(c1) + "/32")) {
        server.ready(1);
        String url = "asr://" + lab.address(lab.server()) + ":7801";
        Path t = dir.resolve("t.img");
        Cmd.Result noToken = restore(lab, c1, url, t);
        assertEquals(2, noToken.exitCode(), noToken::toString);
        assertTrue(noToken.stderr().contains("needs its token"), noToken::toString);
        Cmd.Result outside = restore(lab, c2, url, t, "--token", "s3cret");
        assertEquals(2, outside.exitCode(), outside::toString);
        assertTrue(
            outside.stderr().contains("not in this server's --allow list"), outside::toString);
        String other = Keys.publicFileFor(otherKey).toString();
        Cmd.Result untrusted = restore(lab, c1, url, t, "--token", "s3cret", "--trust", other);
        assertEquals(2, untrusted.exitCode(), untrusted::toString);
        assertTrue(untrusted.stderr().contains("not a trusted key"), untrusted::toString);
        assertFalse(Files.exists(t), "nothing is written before the checks pass");
        String signer = Keys.publicFileFor(signKey).toString();
        Cmd.Result trusted = restore(lab, c1, url, t, "--token", "s3cret", "--trust", signer);
        assertEquals(0, trusted.exitCode(), trusted::toString);
        assertEquals(-1L, Files.mismatch(rawA, t));
        assertEquals(0, server.stop(), server::text);
      }
    }
  }

  /** {@code imprint restore} from {@code url} onto {@code target} in {@code ns}, with fallback. */
  private static Cmd.Result restore(
      NetLab lab, String ns, String url, Path target, String... more) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "restore",
                "--source",
                url,
                "--target",
                target.toString(),
                "--erase",
                "--noprompt",
                "--unicast-fallback"));
    a.addAll(List.of(more));
    return imprint(lab, ns, a.toArray(String[]::new));
  }

  @Test
  void twoSessionsInOneProcessBesideAnotherServer() throws Exception {
    NetLab.assumeAvailable();
    Path conf = dir.resolve("lab.conf");
    Files.writeString(
        conf,
        "data-rate = 20000000\ndns-service-discovery = false\nsessions = [\n"
            + "  { source = \""
            + imageA
            + "\", multicast-address = \"239.77.3.1\", port = 7810 }\n"
            + "  { source = \""
            + imageB
            + "\", multicast-address = \"239.77.3.2\", port = 7811 }\n"
            + "]\n");
    try (NetLab lab = NetLab.create(3);
        Served one = new Served(lab, lab.server(), dir, "server", "--config", conf.toString());
        Served two =
            new Served(
                lab,
                lab.server(),
                dir,
                "server",
                "--source",
                imageB.toString(),
                "--config",
                config("239.77.3.3", 7812).toString())) {
      one.ready(2);
      two.ready(1);
      String host = lab.address(lab.server());
      int[] ports = {7810, 7811, 7812};
      Path[] expect = {rawA, rawB, rawB};
      List<Process> running = new ArrayList<>();
      List<Path> targets = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Path t = dir.resolve("t" + i + ".img");
        targets.add(t);
        List<String> argv = new ArrayList<>(List.of(lab.in(lab.clients().get(i), java())));
        argv.addAll(
            List.of(
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "restore",
                "--source",
                "imprint://" + host + ":" + ports[i],
                "--target",
                t.toString(),
                "--erase",
                "--noprompt",
                "--unicast-fallback"));
        running.add(
            new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("client" + i + ".out").toFile())
                .start());
      }
      for (int i = 0; i < 3; i++) {
        Process p = running.get(i);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "client " + i + " did not finish");
        String out = Files.readString(dir.resolve("client" + i + ".out"));
        assertEquals(0, p.exitValue(), out);
        assertEquals(-1L, Files.mismatch(expect[i], targets.get(i)), "client " + i + ": " + out);
      }
      assertEquals(0, one.stop(), one::text);
      assertEquals(0, two.stop(), two::text);
      assertTrue(one.text().contains("[a.imprint] Ready"), one::text);
      assertTrue(one.text().contains("[b.imprint] Ready"), one::text);
    }
  }

  @Test
  void aTakenPortIsRefused() throws Exception {
    NetLab.assumeAvailable();
    try (NetLab lab = NetLab.create(0);
        Served first =
            new Served(
                lab,
                lab.server(),
                dir,
                "server",
                "--source",
                imageA.toString(),
                "--config",
                config("239.77.4.1", 7820).toString())) {
      first.ready(1);
      Cmd.Result second =
          imprint(
              lab,
              lab.server(),
              "server",
              "--source",
              imageB.toString(),
              "--config",
              config("239.77.4.2", 7820).toString());
      assertEquals(2, second.exitCode(), second::toString);
      assertTrue(second.stderr().contains("cannot listen on port 7820"), second::toString);
      assertEquals(0, first.stop(), first::text);
    }
  }

  @Test
  void browseListsAdvertisedSessions() throws Exception {
    NetLab.assumeAvailable();
    try (NetLab lab = NetLab.create(1);
        Served server =
            new Served(
                lab,
                lab.server(),
                dir,
                "server",
                "--source",
                imageA.toString(),
                "--data-rate",
                "1000000",
                "--multicast-address",
                "239.77.5.1",
                "--port",
                "7830",
                "--interface",
                lab.interfaceName())) {
      server.ready(1);
      Cmd.Result found = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      do {
        found =
            imprint(
                lab,
                lab.clients().get(0),
                "browse",
                "--wait",
                "5",
                "--interface",
                lab.interfaceName(),
                "--json");
      } while (!found.stdout().contains("a.imprint") && System.nanoTime() < deadline);
      assertEquals(0, found.exitCode(), found::toString);
      assertTrue(
          found.stdout().contains("\"url\":\"asr://" + lab.address(lab.server()) + ":7830\""),
          found::toString);
      assertTrue(found.stdout().contains("\"image\":\"a.imprint\""), found::toString);
      assertEquals(0, server.stop(), server::text);
    }
  }

  @Test
  void receiveIntoAFileResumesOnlyTheSameImage() throws Exception {
    NetLab.assumeAvailable();
    try (NetLab lab = NetLab.create(1);
        Served server =
            new Served(
                lab,
                lab.server(),
                dir,
                "server",
                "--source",
                imageA.toString(),
                "--config",
                config("239.77.6.1", 7840).toString())) {
      server.ready(1);
      String url = "asr://" + lab.address(lab.server()) + ":7840";
      String client = lab.clients().get(0);
      Path file = dir.resolve("received.imprint");
      Path part = dir.resolve("received.imprint.part");
      Path sidecar = dir.resolve("received.imprint.part.digest");
      // Part of another image, from an earlier run against another server: refused, untouched.
      byte[] headOfB = java.util.Arrays.copyOf(Files.readAllBytes(imageB), 1 << 20);
      Files.write(part, headOfB);
      Files.writeString(sidecar, digestOf(imageB) + "\n");
      Cmd.Result other =
          imprint(lab, client, "restore", "--source", url, "--file", file.toString());
      assertEquals(2, other.exitCode(), other::toString);
      assertTrue(
          other.stderr().contains("holds part of image " + digestOf(imageB)), other::toString);
      assertEquals(-1L, Files.mismatch(part, writeBytes(dir.resolve("b-head"), headOfB)));
      // Part of this image: the rest is received, the whole checked and renamed.
      Files.write(part, java.util.Arrays.copyOf(Files.readAllBytes(imageA), 1 << 20));
      Files.writeString(sidecar, digestOf(imageA) + "\n");
      Cmd.Result ok = imprint(lab, client, "restore", "--source", url, "--file", file.toString());
      assertEquals(0, ok.exitCode(), ok::toString);
      assertEquals(-1L, Files.mismatch(imageA, file), "the received file is the image");
      assertFalse(Files.exists(part));
      assertFalse(Files.exists(sidecar));
      assertEquals(0, server.stop(), server::text);
    }
  }

  private static String digestOf(Path image) throws IOException {
    try (var img = dev.imprint.engine.job.SourceOpener.openImage(image.toString())) {
      return java.util.HexFormat.of().formatHex(img.metadata().digest());
    }
  }

  private static Path writeBytes(Path p, byte[] b) throws IOException {
    Files.write(p, b);
    return p;
  }
}
