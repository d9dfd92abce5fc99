package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.bmap.BmapTest;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Raw images in the wrappers people download them in: Android sparse, zip, gzip, an ISO-hybrid, and
 * a raw or compressed image with a bmap beside it, through restore (and create, info, imagescan).
 */
class ForeignRawTest {
  private static final long DISK_SIZE = EfiRootDisk.SAMPLE_SIZE;

  @TempDir static Path shared;
  @TempDir Path tmp;

  private static Path raw;
  private static String rawSha;

  @BeforeAll
  static void buildDisk() throws Exception {
    Root.assumeCommands("sgdisk", "mke2fs", "mkfs.vfat", "mmd", "mcopy");
    raw = EfiRootDisk.sample(shared);
    rawSha = TestData.sha256(raw, 0, DISK_SIZE);
  }

  private Path zeroTarget() throws Exception {
    return EfiRootDisk.sampleTarget(tmp);
  }

  private static CliRun.Result restore(Path source, Path target, String... more) {
    return CliRun.restore(source.toString(), target, more);
  }

  /** Refused (stderr) or failed while reading (the per-target summary): one line saying why. */
  private static void assertOneLine(CliRun.Result r, int code, String says) {
    assertEquals(code, r.code(), r::toString);
    String all = r.out() + r.err();
    assertTrue(all.lines().anyMatch(l -> l.contains(says)), r::toString);
    assertFalse(all.contains("Exception"), r::toString);
  }

  @Test
  void androidSparseRestoresByteExactAndIsDescribedAndScanned() throws Exception {
    Root.assumeCommands("img2simg");
    Path simg = tmp.resolve("disk.simg");
    Cmd.run("img2simg", raw.toString(), simg.toString());
    Path target = zeroTarget();
    CliRun.Result r = restore(simg, target);
    assertEquals(0, r.code(), r::toString);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));

    CliRun.Result info = CliRun.run("info", "--source", simg.toString());
    assertEquals(0, info.code(), info::toString);
    assertTrue(info.out().contains("Android sparse"), info::toString);
    CliRun.Result scan = CliRun.run("imagescan", "--source", simg.toString());
    assertEquals(0, scan.code(), scan::toString);

    // create converts it; the image restores to the same bytes.
    Path image = tmp.resolve("disk.imprint");
    CliRun.Result c =
        CliRun.run("create", "--source", simg.toString(), "--output", image.toString());
    assertEquals(0, c.code(), c::toString);
    Path again = zeroTarget();
    assertEquals(0, restore(image, again).code());
    assertEquals(rawSha, TestData.sha256(again, 0, DISK_SIZE));

    // A chunk table pointing past the end is damage, found before anything is written.
    Path cut = tmp.resolve("cut.simg");
    Files.write(
        cut, java.util.Arrays.copyOf(Files.readAllBytes(simg), (int) (Files.size(simg) / 2)));
    Path untouched = tmp.resolve("untouched.bin");
    TestData.randomFile(untouched, DISK_SIZE, 8);
    String before = TestData.sha256(untouched, 0, DISK_SIZE);
    assertOneLine(restore(cut, untouched), 4, "lies past the file's end");
    assertEquals(before, TestData.sha256(untouched, 0, DISK_SIZE), "nothing may be written");
  }

  @Test
  void aZipOfOneImageRestoresStoredOrDeflated() throws Exception {
    Root.assumeCommands("zip");
    for (String level : new String[] {"-0", "-6"}) {
      Path zip = tmp.resolve("disk" + level + ".zip");
      Cmd.run("zip", "-qj", level, zip.toString(), raw.toString());
      Path target = zeroTarget();
      CliRun.Result r = restore(zip, target);
      assertEquals(0, r.code(), () -> level + ": " + r);
      assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE), level);
      CliRun.Result info = CliRun.run("info", "--source", zip.toString());
      assertEquals(0, info.code(), info::toString);
      assertTrue(info.out().contains("disk.img in ") || info.out().contains("gpt"), info::toString);
    }
    Path readme = tmp.resolve("README");
    Files.writeString(readme, "flash the image");
    Path two = tmp.resolve("two.zip");
    Cmd.run("zip", "-qj", two.toString(), raw.toString(), readme.toString());
    assertOneLine(restore(two, zeroTarget()), 2, "zip archive of 2 files (disk.img, README)");
    // The directory lies about the size (a bomb-ish entry): damage, exit 4.
    Path lying = tmp.resolve("lying.zip");
    byte[] z = Files.readAllBytes(tmp.resolve("disk-6.zip"));
    for (int i = z.length - 22; i >= 0; i--) {
      if (z[i] == 'P' && z[i + 1] == 'K' && z[i + 2] == 1 && z[i + 3] == 2) {
        java.nio.ByteBuffer.wrap(z)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .putInt(i + 24, (int) (DISK_SIZE / 2));
        break;
      }
    }
    Files.write(lying, z);
    assertOneLine(restore(lying, zeroTarget()), 4, "zip archive is damaged");
  }

  @Test
  void zipsAndSparseImagesComeOverHttpAndThroughAPipe() throws Exception {
    Root.assumeCommands("zip", "img2simg");
    Root.assume(NginxServer.available(), "needs nginx (Debian: nginx-light)");
    Path simg = tmp.resolve("disk.simg");
    Cmd.run("img2simg", raw.toString(), simg.toString());
    try (NginxServer nginx = new NginxServer(tmp.resolve("nginx"), "1000m")) {
      Cmd.run("zip", "-qj0", nginx.www().resolve("stored.zip").toString(), raw.toString());
      Cmd.run("zip", "-qj", nginx.www().resolve("deflated.zip").toString(), raw.toString());
      Files.copy(simg, nginx.www().resolve("disk.simg"));
      nginx.start();
      for (String name : new String[] {"stored.zip", "deflated.zip", "disk.simg"}) {
        Path target = zeroTarget();
        CliRun.Result r =
            CliRun.run(
                "restore",
                "--source",
                nginx.url("/" + name),
                "--target",
                target.toString(),
                "--erase",
                "--noprompt");
        assertEquals(0, r.code(), () -> name + ": " + r);
        assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE), name);
      }
    }
    // A pipe: the zip is inflated and the sparse image decoded as they arrive.
    Path zip = tmp.resolve("pipe.zip");
    Cmd.run("zip", "-qj", zip.toString(), raw.toString());
    for (Path p : new Path[] {zip, simg}) {
      Path target = zeroTarget();
      CliRun.Result r =
          CliRun.runWithStdin(
              Files.readAllBytes(p),
              "restore",
              "--source",
              "-",
              "--target",
              target.toString(),
              "--erase",
              "--noprompt");
      assertEquals(0, r.code(), () -> p + ": " + r);
      assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE), p.toString());
    }
  }

  @Test
  void gzipRestoresAndConvertsAndIsDescribed() throws Exception {
    Path gz = tmp.resolve("disk.img.gz");
    Cmd.run("sh", "-c", "gzip -c " + raw + " > " + gz);
    Path target = zeroTarget();
    CliRun.Result r = restore(gz, target);
    assertEquals(0, r.code(), r::toString);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));
    assertEquals(DISK_SIZE, Files.size(target));
    CliRun.Result info = CliRun.run("info", "--source", gz.toString());
    assertEquals(0, info.code(), info::toString);
    assertTrue(info.out().contains("gzip-compressed raw image"), info::toString);
    Path image = tmp.resolve("gz.imprint");
    CliRun.Result c = CliRun.run("create", "--source", gz.toString(), "--output", image.toString());
    assertEquals(0, c.code(), c::toString);
    Path again = zeroTarget();
    assertEquals(0, restore(image, again).code());
    assertEquals(rawSha, TestData.sha256(again, 0, DISK_SIZE));
  }

  @Test
  void anIsoHybridIsPlainRaw() throws Exception {
    Root.assumeCommands("xorriso");
    Path dir = Files.createDirectories(tmp.resolve("iso"));
    Files.write(dir.resolve("payload.bin"), TestData.random(700_000, 12));
    Path iso = tmp.resolve("hybrid.iso");
    Cmd.run(
        "xorriso",
        "-as",
        "mkisofs",
        "-quiet",
        "-o",
        iso.toString(),
        "-R",
        "-J",
        "-V",
        "HYBRID",
        "--protective-msdos-label",
        dir.toString());
    byte[] b = Files.readAllBytes(iso);
    assertEquals((byte) 0x55, b[510], "an MBR, as isohybrid writes");
    Path target = TestData.randomFile(tmp.resolve("iso-target.bin"), b.length, 3);
    CliRun.Result r = restore(iso, target);
    assertEquals(0, r.code(), r::toString);
    assertEquals(TestData.sha256(iso), TestData.sha256(target, 0, b.length));
  }

  // ---------------------------------------------------------------- bmap

  @Test
  void aBmapBesideARawOrCompressedImageDecidesWhatIsCopiedAndIsChecked() throws Exception {
    Root.assumeCommands("bmaptool", "xz", "gzip");
    Path dir = Files.createDirectories(tmp.resolve("bmap"));
    Path img = dir.resolve("disk.img");
    // Sparse, as images bmaptool maps are: its holes are what the bmap leaves out.
    Cmd.run("cp", "--sparse=always", raw.toString(), img.toString());
    Path bmap = dir.resolve("disk.img.bmap");
    Cmd.run("bmaptool", "create", "-o", bmap.toString(), img.toString());
    assertTrue(dev.imprint.engine.bmap.Bmap.read(bmap).used().size() > 1, "a bmap with gaps");
    Path target = zeroTarget();
    CliRun.Result r = restore(img, target);
    assertEquals(0, r.code(), r::toString);
    assertTrue(r.err().contains("using the bmap found beside the image"), r::toString);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));

    // Compressed: disk.img.xz and disk.img.gz find disk.img.bmap, as bmaptool does.
    Cmd.run("xz", "-k", "-T1", img.toString());
    Cmd.run("gzip", "-k", img.toString());
    for (String ext : new String[] {".xz", ".gz"}) {
      target = zeroTarget();
      Path t = target;
      CliRun.Result c = restore(dir.resolve("disk.img" + ext), t);
      assertEquals(0, c.code(), () -> ext + ": " + c);
      assertTrue(c.err().contains("disk.img.bmap"), c::toString);
      assertEquals(rawSha, TestData.sha256(t, 0, DISK_SIZE), ext);
    }

    // A flipped byte in a mapped range: damage naming the range, exit 4 (raw and compressed).
    var first = dev.imprint.engine.bmap.Bmap.read(bmap).used().get(1);
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.seek(first.offset() + 10);
      int v = f.read();
      f.seek(first.offset() + 10);
      f.write(v ^ 0x40);
    }
    assertOneLine(restore(img, zeroTarget()), 4, "bytes " + first.offset() + "-");
    Files.delete(dir.resolve("disk.img.gz"));
    Cmd.run("gzip", "-k", img.toString());
    assertOneLine(restore(dir.resolve("disk.img.gz"), zeroTarget()), 4, "the image is damaged");
  }

  @Test
  void anOldBmapGivenWithTheOptionWorksAndBadOnesAreOneLine() throws Exception {
    byte[] img = Files.readAllBytes(raw);
    Path v13 = tmp.resolve("old.bmap");
    // Version 1.3 (SHA-1 attributes): the partition tables, the EFI partition and the root.
    long blocks = DISK_SIZE / 4096;
    Files.writeString(
        v13,
        BmapTest.bmapXml(
            img, 4096, "1.3", null, 0, 8, 256, 256 + 4096 - 1, blocks - 8, blocks - 1));
    Path target = zeroTarget();
    CliRun.Result r = restore(raw, target, "--bmap", v13.toString());
    assertEquals(0, r.code(), r::toString);
    byte[] got = Files.readAllBytes(target);
    assertTrue(java.util.Arrays.equals(img, 0, 9 * 4096, got, 0, 9 * 4096));
    assertTrue(
        java.util.Arrays.equals(
            img, 256 * 4096, (256 + 4096) * 4096, got, 256 * 4096, (256 + 4096) * 4096));
    // The root filesystem is outside the bmap: not copied, though the image holds data there.
    int root = (int) EfiRootDisk.ROOT_OFFSET;
    assertFalse(java.util.Arrays.equals(img, root, root + 4096, new byte[4096], 0, 4096));
    assertTrue(java.util.Arrays.equals(got, root, root + 4096, new byte[4096], 0, 4096));

    Path small = tmp.resolve("small.bmap");
    Files.writeString(small, BmapTest.bmapXml(new byte[4096 * 3], 4096, "2.0", "sha256", 0, 1));
    assertOneLine(restore(raw, zeroTarget(), "--bmap", small.toString()), 2, "says 12288");
    Path broken = tmp.resolve("broken.bmap");
    Files.writeString(broken, "<bmap version=\"2.0\"><ImageSize>");
    assertOneLine(restore(raw, zeroTarget(), "--bmap", broken.toString()), 4, "well-formed XML");
    assertOneLine(
        restore(raw, zeroTarget(), "--bmap", tmp.resolve("missing.bmap").toString()),
        2,
        "cannot read bmap");
  }
}
