package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Fixtures;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code info}, {@code imagescan}, {@code restore} and {@code verify} of real Apple .dmg files
 * (../shared/fixtures/udif), from a file, onto a loop device, and over HTTP from nginx; a damaged
 * .dmg exits 4 with one line, an encrypted one is refused with exit 2.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class UdifCommandsTest {
  private static final long FIVE_MIB = 5L << 20;
  private static final String FIVE = "0786ad1fdcba31a3";

  @TempDir Path tmp;
  private final Cleanup cleanup = new Cleanup();

  @AfterEach
  void clean() {
    cleanup.run(tmp);
  }

  private static Path fixture(String name) {
    return Fixtures.path("udif").resolve(name);
  }

  @Test
  void infoShowsTheContainer() {
    CliRun.Result r = CliRun.run("info", "--source", fixture("compression-lzfse.dmg").toString());
    assertEquals(0, r.code(), r::toString);
    assertTrue(r.out().contains("Apple UDIF (.dmg)"), r::toString);
    assertTrue(r.out().contains("LZFSE"), r::toString);
    CliRun.Result json = CliRun.run("info", "--source", fixture("gpt.dmg").toString(), "--json");
    assertEquals(0, json.code(), json::toString);
    assertTrue(json.out().contains("\"container\""), json::toString);
    assertTrue(json.out().contains("9379840"), json::toString);
  }

  @Test
  void imagescanChecksTheChecksumsAndFindsDamage() throws Exception {
    CliRun.Result ok =
        CliRun.run("imagescan", "--source", fixture("compression-bz2.dmg").toString());
    assertEquals(0, ok.code(), ok::toString);

    byte[] bad = Files.readAllBytes(fixture("compression-zlib.dmg"));
    bad[600] ^= 0x40; // inside the data fork: a zlib chunk
    Path p = tmp.resolve("bad.dmg");
    Files.write(p, bad);
    CliRun.Result r = CliRun.run("imagescan", "--source", p.toString());
    assertEquals(ExitCode.DAMAGED, r.code(), r::toString);
    assertFalse(r.err().contains("\tat "), r::toString);
  }

  @ParameterizedTest
  @ValueSource(strings = {"raw", "zlib", "bz2", "adc", "lzfse"})
  void restoresEachCompressionToAFileAndVerifies(String kind) throws Exception {
    Path dmg = fixture("compression-" + kind + ".dmg");
    Path target = tmp.resolve("target-" + kind + ".img");
    restoreAndVerify(dmg, target.toString());
    assertTrue(TestData.sha256(target, 0, FIVE_MIB).startsWith(FIVE), kind);
  }

  /** Restores {@code source} onto {@code target}, then verifies the target against it. */
  private static void restoreAndVerify(Path source, String target) {
    CliRun.Result r =
        CliRun.run(
            "restore", "--source", source.toString(), "--target", target, "--erase", "--noprompt");
    assertEquals(0, r.code(), r::toString);
    CliRun.Result v = CliRun.run("verify", "--source", source.toString(), "--target", target);
    assertEquals(0, v.code(), v::toString);
  }

  @Test
  void createConvertsADmgToAnImprintImage() throws Exception {
    Path image = tmp.resolve("from-dmg.imprint");
    CliRun.Result c =
        CliRun.run(
            "create",
            "--source",
            fixture("compression-adc.dmg").toString(),
            "--output",
            image.toString());
    assertEquals(0, c.code(), c::toString);
    Path target = tmp.resolve("from-image.img");
    restoreAndVerify(image, target.toString());
    assertTrue(TestData.sha256(target, 0, FIVE_MIB).startsWith(FIVE));
  }

  @Test
  void restoresOntoALoopDevice() throws Exception {
    Root.assumeRoot();
    Path backing = tmp.resolve("loop-backing.img");
    Files.write(backing, TestData.random(9_379_840, 77));
    LoopDevice loop = LoopDevice.attach(backing);
    cleanup.add(loop);
    restoreAndVerify(fixture("gpt.dmg"), loop.path().toString());
  }

  @Test
  void restoresOverHttpFromNginx() throws Exception {
    Root.assume(NginxServer.available(), "needs nginx (Debian: nginx-light)");
    try (NginxServer nginx = new NginxServer(tmp.resolve("nginx"), "100m")) {
      Files.copy(fixture("compression-zlib.dmg"), nginx.www().resolve("disk.dmg"));
      Files.copy(fixture("gpt.dmg"), nginx.www().resolve("gpt.dmg"));
      nginx.start();
      String url = nginx.url("/disk.dmg");
      CliRun.Result info = CliRun.run("info", "--source", url);
      assertEquals(0, info.code(), info::toString);
      assertTrue(info.out().contains("Apple UDIF (.dmg)"), info::toString);
      CliRun.Result scan = CliRun.run("imagescan", "--source", nginx.url("/gpt.dmg"));
      assertEquals(0, scan.code(), scan::toString);
      Path target = tmp.resolve("from-http.img");
      CliRun.Result r =
          CliRun.run(
              "restore", "--source", url, "--target", target.toString(), "--erase", "--noprompt");
      assertEquals(0, r.code(), r::toString);
      assertTrue(TestData.sha256(target, 0, FIVE_MIB).startsWith(FIVE), r::toString);
    }
  }

  @Test
  void anEncryptedDmgIsRefusedWithOneLine() throws Exception {
    byte[] b = new byte[65536];
    System.arraycopy("encrcdsa".getBytes(), 0, b, 0, 8);
    Path p = tmp.resolve("secret.dmg");
    Files.write(p, b);
    Path target = tmp.resolve("never.img");
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            p.toString(),
            "--target",
            target.toString(),
            "--erase",
            "--noprompt");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("encrypted Apple disk image"), r::toString);
    assertEquals(1, r.err().strip().lines().count(), r::toString);
    assertFalse(Files.exists(target) && Files.size(target) > 0, "nothing written");
  }
}
