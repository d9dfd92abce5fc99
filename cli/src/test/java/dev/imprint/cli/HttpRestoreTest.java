package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code imprint restore}, {@code info} and {@code imagescan} with http(s) sources, end to end
 * against a real nginx on the loopback interface: a GPT disk (EFI FAT + ext4 holding 40 MiB of
 * random files) imaged once and served as an Imprint image, as a raw image and as a .zst raw image;
 * nginx killed and restarted mid-restore; the image replaced mid-restore; 404, 403, an unknown
 * host, a file that is not an image, a truncated image; HTTPS with a private CA. Targets are image
 * files, so no root is needed (root only adds an e2fsck of the restored partition).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class HttpRestoreTest {
  private static final long MIB = EfiRootDisk.MIB;
  private static final long DISK_SIZE = 128 * MIB;
  private static final long ROOT_OFFSET = EfiRootDisk.ROOT_OFFSET;
  private static final long ROOT_SIZE = 100 * MIB;

  /**
   * Per connection, for {@code /slow/}: with {@code --connections 2} a 40 MB image takes about 10
   * s, time enough to kill nginx or swap the file in the middle.
   */
  private static final String SLOW_RATE = "2m";

  @TempDir static Path shared;

  private static NginxServer nginx;
  private static Path rawImage;
  private static Path image;
  private static Path otherImage;
  private static String rawSha;

  @TempDir Path tmp;

  @BeforeAll
  static void buildDiskAndServe() throws Exception {
    Root.assume(NginxServer.available(), "needs nginx (Debian: nginx-light)");
    Root.assumeCommands("sgdisk", "mke2fs", "mkfs.vfat", "mmd", "mcopy", "zstd", "stat");

    Path rootfs = Files.createDirectories(shared.resolve("rootfs"));
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/hostname"), "imprint-http-test\n");
    Files.createDirectories(rootfs.resolve("data"));
    for (int i = 0; i < 4; i++) {
      Files.write(
          rootfs.resolve("data/random-" + i + ".bin"),
          TestData.random(10 * MIB + i * 4097, 100 + i));
    }
    rawImage = EfiRootDisk.build(shared, rootfs, "root", ROOT_SIZE, DISK_SIZE);
    rawSha = TestData.sha256(rawImage, 0, DISK_SIZE);

    image = shared.resolve("disk.imprint");
    CliRun.Result r =
        CliRun.run("create", "--source", rawImage.toString(), "--output", image.toString());
    assertEquals(0, r.code(), r::toString);
    assertTrue(Files.size(image) > 40_000_000, "the image must be big enough to restore slowly");
    // The same disk made with another chunk size: a different image (and file size).
    otherImage = shared.resolve("other.imprint");
    r =
        CliRun.run(
            "create",
            "--source",
            rawImage.toString(),
            "--output",
            otherImage.toString(),
            "--chunk-size",
            "1M");
    assertEquals(0, r.code(), r::toString);

    nginx = new NginxServer(shared.resolve("nginx"), SLOW_RATE);
    Path www = nginx.www();
    Files.copy(image, www.resolve("disk.imprint"));
    Files.copy(rawImage, www.resolve("disk.img"));
    Cmd.run("zstd", "-q", "-3", rawImage.toString(), "-o", www.resolve("disk.img.zst").toString());
    Files.writeString(www.resolve("hello.txt"), "hello\n");
    Files.writeString(www.resolve("hello-long.txt"), "hello\n".repeat(20_000));
    byte[] whole = Files.readAllBytes(image);
    Files.write(www.resolve("half.imprint"), Arrays.copyOf(whole, whole.length / 2));
    nginx.start();
  }

  @AfterAll
  static void stopNginx() {
    if (nginx != null) {
      nginx.close();
    }
  }

  // ---------------------------------------------------------------- 1. an image over HTTP

  @Test
  void restoresImageFromUrlAndItVerifiesAgainstTheLocalImage() throws Exception {
    String url = nginx.url("/disk.imprint");
    Path target = tmp.resolve("target.img");

    CliRun.Result r =
        CliRun.run(
            "restore", "--source", url, "--target", target.toString(), "--erase", "--noprompt");

    assertEquals(0, r.code(), r::toString);
    assertTrue(r.out().contains("Restore completed successfully."), r::toString);
    assertEquals(
        rawSha, TestData.sha256(target, 0, DISK_SIZE), "the target holds the disk byte for byte");
    CliRun.Result v =
        CliRun.run("verify", "--source", image.toString(), "--target", target.toString());
    assertEquals(0, v.code(), v::toString);

    CliRun.Result local = CliRun.run("info", "--source", image.toString(), "--json");
    assertEquals(0, local.code(), local::toString);
    CliRun.Result remote = CliRun.run("info", "--source", url, "--json");
    assertEquals(0, remote.code(), remote::toString);
    String digest = field(local.out(), "digest");
    assertTrue(digest.startsWith("sha256:"), local::toString);
    assertEquals(digest, field(remote.out(), "digest"), remote::toString);
    assertEquals(field(local.out(), "logicalSize"), field(remote.out(), "logicalSize"));
    CliRun.Result text = CliRun.run("info", "--source", url);
    assertEquals(0, text.code(), text::toString);
    assertTrue(text.out().contains(digest), text::toString);

    CliRun.Result scan = CliRun.run("imagescan", "--source", url);
    assertEquals(0, scan.code(), scan::toString);
  }

  // ---------------------------------------------------------------- 2. raw and .zst raw

  @Test
  void restoresRawImageFromUrlInOneStreamingGet() throws Exception {
    restoresRaw("/disk.img");
  }

  @Test
  void restoresZstdRawImageFromUrlInOneStreamingGet() throws Exception {
    restoresRaw("/disk.img.zst");
  }

  private void restoresRaw(String path) throws Exception {
    Path target = tmp.resolve("raw-target.img");
    long getsBefore = fullGets(path);

    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            nginx.url(path),
            "--target",
            target.toString(),
            "--erase",
            "--noprompt");

    assertEquals(0, r.code(), r::toString);
    assertTrue(r.out().contains("Restore completed successfully."), r::toString);
    assertEquals(
        1, fullGets(path) - getsBefore, () -> "one streaming GET of " + path + accessLog());
    assertEquals(DISK_SIZE, Files.size(target), "the target file has the disk's size");
    assertEquals(
        rawSha,
        TestData.sha256(target, 0, DISK_SIZE),
        "the target holds the raw disk byte for byte");
    assertTrue(
        allocatedBytes(target) < DISK_SIZE - 16 * MIB, "unused space stays sparse in a new file");
    Root.assumeRoot();
    Root.assumeCommands("e2fsck");
    try (LoopDevice root = LoopDevice.attach(target, ROOT_OFFSET, ROOT_SIZE)) {
      Cmd.Result fsck = Cmd.result("e2fsck", "-fn", root.path().toString());
      assertEquals(0, fsck.exitCode(), () -> "e2fsck: " + fsck.stdout() + fsck.stderr());
    }
  }

  /**
   * README: "Before the first byte is written, every target is checked: ... is large enough". A raw
   * image streamed over HTTP has a known length (Content-Length), but RestoreCommand.openHttp
   * passes no size to DecodedDisk, so the size check sees -1, and TargetWriter.writeNow silently
   * clips data past the device's end: exit 0, "Restore completed successfully.", a broken disk.
   */
  @Test
  void rawImageLargerThanTheTargetDeviceIsRefusedBeforeWriting() throws Exception {
    Root.assumeRoot();
    Path backing = tmp.resolve("small-disk.bin");
    Files.write(backing, TestData.random(DISK_SIZE / 2, 77));
    String before = TestData.sha256(backing, 0, DISK_SIZE / 2);
    try (LoopDevice small = LoopDevice.attach(backing)) {
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              nginx.url("/disk.img"),
              "--target",
              small.path().toString(),
              "--erase",
              "--noprompt");
      assertEquals(2, r.code(), r::toString);
      assertTrue(r.err().contains("smaller"), r::toString);
    }
    assertEquals(before, TestData.sha256(backing, 0, DISK_SIZE / 2), "nothing may be written");
  }

  /**
   * A compressed raw stream's size is known only at its end, so it cannot be refused up front; data
   * past the device's end must then fail the target (exit 1), never be dropped with exit 0.
   */
  @Test
  void compressedRawLargerThanTheTargetDeviceFailsTheTarget() throws Exception {
    Root.assumeRoot();
    Path backing = tmp.resolve("small-disk.bin");
    Files.write(backing, TestData.random(DISK_SIZE / 2, 78));
    try (LoopDevice small = LoopDevice.attach(backing)) {
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              nginx.url("/disk.img.zst"),
              "--target",
              small.path().toString(),
              "--erase",
              "--noprompt");
      assertEquals(1, r.code(), r::toString);
      assertFalse(r.out().contains("Restore completed successfully."), r::toString);
      assertTrue((r.out() + r.err()).contains("larger disk"), r::toString);
    }
  }

  // ---------------------------------------------------------------- 2b. create from a URL

  /**
   * A raw disk over HTTP with range support is read at random, like the local file: the same
   * partitions, the same used blocks, the same chunks. Only the creation time and the recorded
   * source (the URL) differ, and the record offsets after the longer header.
   */
  @Test
  void createFromRawUrlMatchesCreateFromTheLocalFile() throws Exception {
    Path fromUrl = tmp.resolve("from-url.imprint");
    long getsBefore = fullGets("/disk.img");
    CliRun.Result r =
        CliRun.run("create", "--source", nginx.url("/disk.img"), "--output", fromUrl.toString());
    assertEquals(0, r.code(), r::toString);
    assertEquals(
        getsBefore, fullGets("/disk.img"), () -> "range requests only, no full GET" + accessLog());
    assertSameContent(image, fromUrl, nginx.url("/disk.img"));
  }

  @Test
  void createFromZstdUrlMatchesCreateFromTheLocalZstdFile() throws Exception {
    Path local = tmp.resolve("from-zst-file.imprint");
    Path fromUrl = tmp.resolve("from-zst-url.imprint");
    CliRun.Result l =
        CliRun.run(
            "create",
            "--source",
            nginx.www().resolve("disk.img.zst").toString(),
            "--output",
            local.toString());
    assertEquals(0, l.code(), l::toString);
    CliRun.Result r =
        CliRun.run(
            "create", "--source", nginx.url("/disk.img.zst"), "--output", fromUrl.toString());
    assertEquals(0, r.code(), r::toString);
    assertSameContent(local, fromUrl, nginx.url("/disk.img.zst"));
    // And it is the disk: restored, it is the raw image byte for byte.
    Path target = tmp.resolve("zst-target.img");
    CliRun.Result restore =
        CliRun.run(
            "restore",
            "--source",
            fromUrl.toString(),
            "--target",
            target.toString(),
            "--erase",
            "--noprompt");
    assertEquals(0, restore.code(), restore::toString);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));
  }

  @Test
  void createRefusesAnImageUrlAndHttpOptionsForALocalSource() throws Exception {
    Path out = tmp.resolve("never.imprint");
    CliRun.Result r =
        CliRun.run("create", "--source", nginx.url("/disk.imprint"), "--output", out.toString());
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().contains("is an Imprint image, not a raw disk"), r::toString);
    assertEquals(1, errorLines(r).size(), r::toString);
    CliRun.Result o =
        CliRun.run(
            "create",
            "--source",
            rawImage.toString(),
            "--output",
            out.toString(),
            "--connections",
            "2");
    assertEquals(2, o.code(), o::toString);
    assertTrue(o.err().contains("--connections applies only to an http"), o::toString);
    assertFalse(Files.exists(out), "nothing may be written");
  }

  private static List<String> chunks(Image image) {
    return image.metadata().index().stream()
        .map(
            e ->
                e.kind()
                    + " "
                    + e.codec()
                    + " "
                    + e.logicalOffset()
                    + "+"
                    + e.logicalLength()
                    + " "
                    + e.storedLength()
                    + " "
                    + java.util.HexFormat.of().formatHex(e.sha256()))
        .toList();
  }

  /** Same header (but for the creation time and the source) and the same index, chunk by chunk. */
  private static void assertSameContent(Path expected, Path actual, String source)
      throws IOException {
    try (Image a = Image.open(FileDisk.open(expected));
        Image b = Image.open(FileDisk.open(actual))) {
      ImageHeader ha = a.header();
      ImageHeader hb = b.header();
      assertEquals(source, hb.source());
      assertEquals(
          new ImageHeader(
              ha.major(),
              ha.minor(),
              ha.logicalSize(),
              ha.sectorSize(),
              ha.chunkSize(),
              ha.kind(),
              ha.codec(),
              ha.scheme(),
              hb.created(),
              ha.creator(),
              hb.source(),
              ha.partitions()),
          hb);
      // Record offsets shift with the header's length (the source's name); the chunks may not.
      assertEquals(chunks(a), chunks(b), "the same chunks");
    }
  }

  // ---------------------------------------------------------------- 3. nginx dies and comes back

  @Test
  void restoreSurvivesServerKilledAndRestartedMidTransfer() throws Exception {
    Path target = tmp.resolve("target.img");
    CompletableFuture<CliRun.Result> run =
        CompletableFuture.supplyAsync(
            () ->
                CliRun.run(
                    "restore",
                    "--source",
                    nginx.url("/slow/disk.imprint"),
                    "--target",
                    target.toString(),
                    "--erase",
                    "--noprompt",
                    "--connections",
                    "2"));
    try {
      awaitAllocated(target, 8 * MIB, run);
      assertFalse(run.isDone(), "the restore must still be running when nginx dies");
      nginx.stop();
      Thread.sleep(1000); // the outage
      assertFalse(run.isDone(), () -> "the restore gave up during a 1 s outage: " + run.join());
      nginx.start();
    } finally {
      nginx.start(); // whatever happened, later tests need the server
    }
    long logged = accessLog().length();
    CliRun.Result r = run.get(3, TimeUnit.MINUTES);

    assertEquals(0, r.code(), r::toString);
    assertTrue(
        accessLog().substring((int) logged).contains("\"GET /slow/disk.imprint HTTP/1.1\" 206 "),
        () -> "the restore went on reading from the restarted server:" + accessLog());
    assertTrue(r.out().contains("Restore completed successfully."), r::toString);
    CliRun.Result v =
        CliRun.run("verify", "--source", image.toString(), "--target", target.toString());
    assertEquals(0, v.code(), v::toString);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));
  }

  @Test
  void rawStreamResumesAfterServerKilledAndRestarted() throws Exception {
    Path target = tmp.resolve("raw-target.img");
    CompletableFuture<CliRun.Result> run =
        CompletableFuture.supplyAsync(
            () ->
                CliRun.run(
                    "restore",
                    "--source",
                    nginx.url("/medium/disk.img.zst"),
                    "--target",
                    target.toString(),
                    "--erase",
                    "--noprompt"));
    try {
      awaitAllocated(target, 8 * MIB, run);
      assertFalse(run.isDone(), "the restore must still be running when nginx dies");
      nginx.stop();
      Thread.sleep(1000); // the outage
      nginx.start();
    } finally {
      nginx.start();
    }
    long logged = accessLog().length();
    CliRun.Result r = run.get(3, TimeUnit.MINUTES);

    assertEquals(0, r.code(), r::toString);
    assertTrue(
        accessLog().substring((int) logged).contains("\"GET /medium/disk.img.zst HTTP/1.1\" 206 "),
        () -> "the stream resumed with a range request:" + accessLog());
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));
  }

  // ---------------------------------------------------------------- 4. the image changes

  @Test
  void restoreStopsWhenTheImageIsReplacedMidTransfer() throws Exception {
    Path served = nginx.www().resolve("changing.imprint");
    Files.copy(image, served, StandardCopyOption.REPLACE_EXISTING);
    Path target = tmp.resolve("target.img");
    CompletableFuture<CliRun.Result> run =
        CompletableFuture.supplyAsync(
            () ->
                CliRun.run(
                    "restore",
                    "--source",
                    nginx.url("/slow/changing.imprint"),
                    "--target",
                    target.toString(),
                    "--erase",
                    "--noprompt",
                    "--connections",
                    "2"));
    awaitAllocated(target, 4 * MIB, run);
    assertFalse(run.isDone(), "the restore must still be running when the image changes");
    Path next = served.resolveSibling("changing.imprint.new");
    Files.copy(otherImage, next);
    Files.setLastModifiedTime(
        next, FileTime.fromMillis(Files.getLastModifiedTime(served).toMillis() + 10_000));
    Files.move(next, served, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

    CliRun.Result r = run.get(3, TimeUnit.MINUTES);

    assertNotEquals(0, r.code(), r::toString);
    assertTrue((r.out() + r.err()).contains("changed"), r::toString);
    assertFalse(r.out().contains("Restore completed successfully."), r::toString);
    if (Files.exists(target)) {
      byte[] head = new byte[(int) MIB];
      try (InputStream in = Files.newInputStream(target)) {
        int n = in.readNBytes(head, 0, head.length);
        assertTrue(n == 0 || n == head.length, "short first MiB: " + n);
      }
      assertArrayEquals(new byte[(int) MIB], head, "the first MiB (partition table) stays zeros");
    }
  }

  // ---------------------------------------------------------------- 5. bad input

  @Test
  void notFoundIsRefusedWithTheUrlAnd404() throws Exception {
    String url = nginx.url("/missing.imprint");
    CliRun.Result r = refusedRestore(url);
    assertTrue(r.err().contains(url), r::toString);
    assertTrue(r.err().contains("404"), r::toString);
    CliRun.Result i = CliRun.run("info", "--source", url);
    assertEquals(2, i.code(), i::toString);
    assertTrue(i.err().contains("404"), i::toString);
  }

  @Test
  void forbiddenIsRefusedWith403() throws Exception {
    CliRun.Result r = refusedRestore(nginx.url("/forbidden/disk.imprint"));
    assertTrue(r.err().contains("403"), r::toString);
    assertTrue(r.err().contains("access denied"), r::toString);
  }

  @Test
  void unknownHostIsRefused() throws Exception {
    CliRun.Result r = refusedRestore("http://no-such-host.invalid/x.imprint");
    assertTrue(r.err().contains("no-such-host.invalid"), r::toString);
    assertTrue(r.err().contains("resolve"), r::toString);
  }

  @Test
  void textFileIsNotAnImprintImage() throws Exception {
    // A 6-byte text file is a legal raw "disk" for restore; info must refuse it as an image.
    CliRun.Result r = CliRun.run("info", "--source", nginx.url("/hello.txt"));
    assertEquals(4, r.code(), r::toString);
    assertTrue(r.err().contains("hello.txt"), r::toString);
    assertTrue(r.err().contains("Imprint image"), r::toString);
    assertEquals(1, errorLines(r).size(), r::toString);

    CliRun.Result longer = CliRun.run("info", "--source", nginx.url("/hello-long.txt"));
    assertEquals(4, longer.code(), longer::toString);
    assertTrue(longer.err().contains("not an Imprint image"), longer::toString);
    assertEquals(1, errorLines(longer).size(), longer::toString);

    CliRun.Result scan = CliRun.run("imagescan", "--source", nginx.url("/hello-long.txt"));
    assertEquals(4, scan.code(), scan::toString);
    assertTrue(scan.err().contains("not an Imprint image"), scan::toString);
  }

  @Test
  void truncatedImageIsReportedTruncated() throws Exception {
    String url = nginx.url("/half.imprint");
    CliRun.Result i = CliRun.run("info", "--source", url);
    assertEquals(4, i.code(), i::toString);
    assertTrue(i.err().contains("truncated"), i::toString);
    assertEquals(1, errorLines(i).size(), i::toString);

    CliRun.Result r = refusedRestore(ExitCode.DAMAGED, url);
    assertTrue(r.err().contains("truncated"), r::toString);
  }

  @Test
  void httpsWithPrivateCaNeedsCacertOrInsecure() throws Exception {
    Root.assumeCommands("openssl");
    Path pki = Files.createDirectories(tmp.resolve("pki"));
    Path caKey = pki.resolve("ca.key");
    Path ca = pki.resolve("ca.pem");
    Cmd.run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        caKey.toString(),
        "-out",
        ca.toString(),
        "-days",
        "2",
        "-subj",
        "/CN=Imprint Test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign");
    Path key = pki.resolve("server.key");
    Path csr = pki.resolve("server.csr");
    Path cert = pki.resolve("server.pem");
    Cmd.run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key.toString(),
        "-out",
        csr.toString(),
        "-subj",
        "/CN=127.0.0.1");
    Path ext = pki.resolve("server.ext");
    Files.writeString(
        ext,
        "basicConstraints=CA:FALSE\n"
            + "keyUsage=critical,digitalSignature,keyEncipherment\n"
            + "extendedKeyUsage=serverAuth\n"
            + "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    Cmd.run(
        "openssl",
        "x509",
        "-req",
        "-in",
        csr.toString(),
        "-CA",
        ca.toString(),
        "-CAkey",
        caKey.toString(),
        "-set_serial",
        "2",
        "-days",
        "2",
        "-extfile",
        ext.toString(),
        "-out",
        cert.toString());

    try (NginxServer https = new NginxServer(tmp.resolve("nginx-tls"), SLOW_RATE, cert, key)) {
      Files.copy(image, https.www().resolve("disk.imprint"));
      https.start();
      String url = https.url("/disk.imprint");
      assertTrue(url.startsWith("https://"), url);

      CliRun.Result refused = refusedRestore(url);
      assertTrue(refused.err().contains("--cacert"), refused::toString);

      Path withCa = tmp.resolve("with-ca.img");
      CliRun.Result ok =
          CliRun.run(
              "restore",
              "--source",
              url,
              "--target",
              withCa.toString(),
              "--erase",
              "--noprompt",
              "--cacert",
              ca.toString());
      assertEquals(0, ok.code(), ok::toString);
      assertTrue(ok.out().contains("Restore completed successfully."), ok::toString);
      assertEquals(rawSha, TestData.sha256(withCa, 0, DISK_SIZE));

      Path insecure = tmp.resolve("insecure.img");
      CliRun.Result any =
          CliRun.run(
              "restore",
              "--source",
              url,
              "--target",
              insecure.toString(),
              "--erase",
              "--noprompt",
              "--insecure");
      assertEquals(0, any.code(), any::toString);
      assertEquals(rawSha, TestData.sha256(insecure, 0, DISK_SIZE));

      CliRun.Result info = CliRun.run("info", "--source", url, "--cacert", ca.toString());
      assertEquals(0, info.code(), info::toString);
    }
  }

  // ---------------------------------------------------------------- 6. options

  @Test
  void zeroConnectionsIsOutOfRange() throws Exception {
    CliRun.Result r = refusedRestore(nginx.url("/disk.imprint"), "--connections", "0");
    assertTrue(r.err().contains("--connections"), r::toString);
    assertTrue(r.err().contains("range"), r::toString);
    CliRun.Result i =
        CliRun.run("info", "--source", nginx.url("/disk.imprint"), "--connections", "0");
    assertEquals(2, i.code(), i::toString);
    assertTrue(i.err().contains("range"), i::toString);
  }

  // ---------------------------------------------------------------- helpers

  /** Runs a restore that must be refused: exit 2, one line on stderr, no target file made. */
  private CliRun.Result refusedRestore(String url, String... extra) {
    return refusedRestore(ExitCode.BAD_INPUT, url, extra);
  }

  private CliRun.Result refusedRestore(int code, String url, String... extra) {
    Path target = tmp.resolve("refused-" + System.nanoTime() + ".img");
    List<String> args =
        new ArrayList<>(
            List.of(
                "restore",
                "--source",
                url,
                "--target",
                target.toString(),
                "--erase",
                "--noprompt"));
    args.addAll(List.of(extra));
    CliRun.Result r = CliRun.run(args.toArray(String[]::new));
    assertEquals(code, r.code(), r::toString);
    assertEquals(1, errorLines(r).size(), () -> "one line on stderr: " + r);
    assertTrue(r.err().startsWith("imprint: "), r::toString);
    assertFalse(Files.exists(target), () -> "no target file may be created: " + r);
    return r;
  }

  private static List<String> errorLines(CliRun.Result r) {
    return r.err().lines().filter(l -> !l.isBlank()).toList();
  }

  /** Waits until {@code file} has at least {@code bytes} allocated (it is sparse). */
  private static void awaitAllocated(Path file, long bytes, CompletableFuture<CliRun.Result> run)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(file) || allocatedBytes(file) < bytes) {
      if (run.isDone()) {
        throw new AssertionError(
            "the restore ended before writing " + bytes + " bytes: " + run.join());
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + bytes + " bytes written to " + file + " in 60 s");
      }
      Thread.sleep(50); // polling interval
    }
  }

  /** Bytes the file system allocated to {@code file} (stat's blocks times its block unit). */
  private static long allocatedBytes(Path file) {
    String[] s = Cmd.run("stat", "-c", "%b %B", file.toString()).split(" ");
    return Long.parseLong(s[0]) * Long.parseLong(s[1]);
  }

  /** GETs of {@code path} nginx answered with the whole file (200), from its access log. */
  private static long fullGets(String path) {
    String needle = "\"GET " + path + " HTTP/1.1\" 200 ";
    return accessLog().lines().filter(l -> l.contains(needle)).count();
  }

  private static String accessLog() {
    Path log = shared.resolve("nginx/access.log");
    try {
      return Files.exists(log) ? "\n" + Files.readString(log) : "";
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A top-level string or number field of a one-line JSON object. */
  private static String field(String json, String name) {
    Matcher m =
        Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*(\"([^\"]*)\"|([-0-9.]+))")
            .matcher(json);
    assertTrue(m.find(), () -> "no " + name + " in " + json);
    return m.group(2) != null ? m.group(2) : m.group(3);
  }
}
