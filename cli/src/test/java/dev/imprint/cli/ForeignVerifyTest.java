package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.bmap.Bmap;
import dev.imprint.engine.bmap.BmapTest;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Standalone {@code verify} and {@code imagescan} of what restore reads as a raw disk (a zip of a
 * raw image, a gzip'd one, one with a bmap), and a bmap found beside an http(s) image.
 */
class ForeignVerifyTest {
  private static final long MIB = 1L << 20;
  private static final long DISK_SIZE = EfiRootDisk.SAMPLE_SIZE;
  private static final long CHUNK = 4 * MIB;

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

  private static CliRun.Result restore(String source, Path target, String... more) {
    return CliRun.restore(source, target, more);
  }

  private static CliRun.Result verify(String source, Path target) {
    return CliRun.run("verify", "--source", source, "--target", target.toString());
  }

  private static CliRun.Result scan(String source) {
    return CliRun.run("imagescan", "--source", source);
  }

  /** Exit {@code code} with a line saying {@code says}, and no stack trace. */
  private static void assertOneLine(CliRun.Result r, int code, String says) {
    assertEquals(code, r.code(), r::toString);
    String all = r.out() + r.err();
    assertTrue(all.lines().anyMatch(l -> l.contains(says)), r::toString);
    assertFalse(all.contains("Exception"), r::toString);
    assertFalse(all.contains("not an Imprint image"), r::toString);
  }

  private static void flip(Path file, long at) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(at);
      int v = f.read();
      f.seek(at);
      f.write(v ^ 0x40);
    }
  }

  /**
   * Restores {@code source}, then verify finds the target sound, and a changed byte at {@code bad}.
   */
  private void restoresAndVerifies(String source, long bad) throws Exception {
    Path target = zeroTarget();
    CliRun.Result r = restore(source, target);
    assertEquals(0, r.code(), () -> source + ": " + r);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE), source);
    CliRun.Result v = verify(source, target);
    assertEquals(0, v.code(), () -> source + ": " + v);
    assertTrue(v.out().contains("matches the image"), v::toString);
    flip(target, bad);
    assertOneLine(verify(source, target), 3, "differs at byte");
  }

  @Test
  void zipsAndGzipAreVerifiedAndScanned() throws Exception {
    Root.assumeCommands("zip", "gzip");
    long bad = EfiRootDisk.EFI_OFFSET + 5; // the FAT's boot sector: used by any reading
    Path stored = tmp.resolve("stored.zip");
    Path deflated = tmp.resolve("deflated.zip");
    Path gz = tmp.resolve("disk.img.gz");
    Cmd.run("zip", "-qj0", stored.toString(), raw.toString());
    Cmd.run("zip", "-qj", deflated.toString(), raw.toString());
    Cmd.run("sh", "-c", "gzip -c " + raw + " > " + gz);
    for (Path p : List.of(stored, deflated, gz)) {
      restoresAndVerifies(p.toString(), bad);
    }
    CliRun.Result s = scan(stored.toString());
    assertEquals(0, s.code(), s::toString);
    assertTrue(s.out().contains("the CRC32 of disk.img in " + stored), s::toString);
    s = scan(deflated.toString());
    assertEquals(0, s.code(), s::toString);
    assertTrue(s.out().contains("the CRC32 and size of disk.img in"), s::toString);
    s = scan(gz.toString());
    assertEquals(0, s.code(), s::toString);
    assertTrue(s.out().contains("every gzip member's CRC32 and ISIZE"), s::toString);

    // A byte changed inside the stored image: only its CRC32 can tell.
    ByteBuffer local = ByteBuffer.wrap(Files.readAllBytes(stored), 0, 30);
    local.order(ByteOrder.LITTLE_ENDIAN);
    long entry = 30 + local.getShort(26) + local.getShort(28);
    Path storedBad = tmp.resolve("stored-bad.zip");
    Files.copy(stored, storedBad);
    flip(storedBad, entry + EfiRootDisk.ROOT_OFFSET + 3 * MIB);
    assertOneLine(scan(storedBad.toString()), 4, "the zip archive is damaged");
    // The deflated entry's CRC32 in the central directory no longer fits its data.
    Path deflatedBad = tmp.resolve("deflated-bad.zip");
    byte[] z = Files.readAllBytes(deflated);
    for (int i = z.length - 22; i >= 0; i--) {
      if (z[i] == 'P' && z[i + 1] == 'K' && z[i + 2] == 1 && z[i + 3] == 2) {
        ByteBuffer b = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(i + 16, b.getInt(i + 16) ^ 1);
        break;
      }
    }
    Files.write(deflatedBad, z);
    assertOneLine(scan(deflatedBad.toString()), 4, "CRC32");
    // gzip's trailer: a wrong CRC32, then a wrong ISIZE.
    for (long fromEnd : new long[] {8, 1}) {
      Path gzBad = tmp.resolve("bad-" + fromEnd + ".img.gz");
      Files.copy(gz, gzBad);
      flip(gzBad, Files.size(gzBad) - fromEnd);
      assertOneLine(scan(gzBad.toString()), 4, "gzip data is corrupt");
    }
  }

  /** A sparse copy of the disk with the bmap bmaptool makes of it, in {@code dir}. */
  private static Bmap mapped(Path dir) throws Exception {
    Path img = dir.resolve("disk.img");
    Cmd.run("cp", "--sparse=always", raw.toString(), img.toString());
    Path bmap = dir.resolve("disk.img.bmap");
    Cmd.run("bmaptool", "create", "-o", bmap.toString(), img.toString());
    Bmap b = Bmap.read(bmap);
    assertTrue(b.used().size() > 1, "a bmap with gaps");
    return b;
  }

  /** A byte the bmap leaves out: in the gap after its first range. */
  private static long unmapped(Bmap b) {
    Extent first = b.used().get(0);
    assertTrue(b.used().get(1).offset() > first.end() + 1, "a gap");
    return first.end() + 1;
  }

  @Test
  void aBmapLimitsVerifyToItsRangesAndImagescanChecksThem() throws Exception {
    Root.assumeCommands("bmaptool", "gzip");
    Path dir = Files.createDirectories(tmp.resolve("bmap"));
    Bmap b = mapped(dir);
    Path img = dir.resolve("disk.img");
    Cmd.run("gzip", "-k", img.toString());
    for (String name : new String[] {"disk.img", "disk.img.gz"}) {
      String source = dir.resolve(name).toString();
      Path target = zeroTarget();
      assertEquals(0, restore(source, target).code());
      // Outside the bmap's ranges: not the image's business.
      flip(target, unmapped(b));
      CliRun.Result v = verify(source, target);
      assertEquals(0, v.code(), () -> name + ": " + v);
      assertTrue(v.out().contains("using the bmap found beside the image"), v::toString);
      Extent second = b.used().get(1);
      flip(target, second.offset() + 7);
      assertOneLine(verify(source, target), 3, "differs at byte");

      CliRun.Result s = scan(source);
      assertEquals(0, s.code(), () -> name + ": " + s);
      assertTrue(s.out().contains("mapped ranges' SHA-256"), s::toString);
      assertTrue(s.out().contains("disk.img.bmap"), s::toString);
    }
    // A mapped byte changed in the image: imagescan and verify name the bmap range, exit 4.
    Extent second = b.used().get(1);
    flip(img, second.offset() + 10);
    String range = "bytes " + second.offset() + "-" + (second.end() - 1);
    assertOneLine(scan(img.toString()), 4, range);
    assertOneLine(verify(img.toString(), zeroTarget()), 4, range);
    Files.delete(dir.resolve("disk.img.gz"));
    Cmd.run("gzip", "-k", img.toString());
    assertOneLine(scan(dir.resolve("disk.img.gz").toString()), 4, range);
  }

  @Test
  void aBmapBesideAnHttpImageIsFoundAndItsRangesUsed() throws Exception {
    Root.assumeCommands("bmaptool", "gzip");
    Root.assume(NginxServer.available(), "needs nginx (Debian: nginx-light)");
    try (NginxServer nginx = new NginxServer(tmp.resolve("nginx"), "1000m")) {
      Path www = nginx.www();
      Bmap b = mapped(www);
      Path img = www.resolve("disk.img");
      Cmd.run("gzip", "-k", img.toString()); // disk.img.gz finds disk.img.bmap
      Path plain = Files.createDirectories(www.resolve("plain"));
      Files.copy(raw, plain.resolve("disk.img")); // no bmap beside this one
      nginx.start();

      // A server without ranges streams the image; the bmap is found the same way.
      for (String name : new String[] {"/disk.img", "/disk.img.gz", "/noranges/disk.img"}) {
        String url = nginx.url(name);
        Path target = zeroTarget();
        CliRun.Result r = restore(url, target);
        assertEquals(0, r.code(), () -> name + ": " + r);
        assertTrue(
            r.err()
                .contains(
                    "using the bmap found beside the image: "
                        + url.substring(0, url.lastIndexOf('/') + 1)
                        + "disk.img.bmap"),
            r::toString);
        assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE), name);
        flip(target, unmapped(b)); // outside the bmap: verify does not look
        CliRun.Result v = verify(url, target);
        assertEquals(0, v.code(), () -> name + ": " + v);
        CliRun.Result s = scan(url);
        assertEquals(0, s.code(), () -> name + ": " + s);
        assertTrue(s.out().contains("mapped ranges' SHA-256"), s::toString);
      }
      // The raw image is read at random: only chunks holding the bmap's ranges are asked for.
      int before = nginx.rangeStarts().size();
      assertEquals(0, restore(nginx.url("/disk.img"), zeroTarget()).code());
      List<Long> starts = nginx.rangeStarts().subList(before, nginx.rangeStarts().size());
      assertFalse(starts.isEmpty());
      for (long o : starts) {
        assertTrue(
            b.used().stream().anyMatch(e -> e.offset() < o + CHUNK && o < e.end()),
            () -> o + " lies outside the bmap's ranges: " + starts);
      }

      // No bmap beside it: restored as a raw image, nothing said about a bmap.
      Path target = zeroTarget();
      CliRun.Result r = restore(nginx.url("/plain/disk.img"), target);
      assertEquals(0, r.code(), r::toString);
      assertFalse(r.err().contains("bmap"), r::toString);
      assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));
      assertEquals(0, verify(nginx.url("/plain/disk.img"), target).code());

      // --bmap FILE with an http source: it is the one used (this one is for another image).
      Path small = tmp.resolve("small.bmap");
      Files.writeString(small, BmapTest.bmapXml(new byte[4096 * 3], 4096, "2.0", "sha256", 0, 1));
      assertOneLine(
          restore(nginx.url("/plain/disk.img"), zeroTarget(), "--bmap", small.toString()),
          2,
          "says 12288");

      // A mapped range damaged in the served image: exit 4 naming the range.
      Extent second = b.used().get(1);
      flip(img, second.offset() + 10);
      String range = "bytes " + second.offset() + "-" + (second.end() - 1);
      Path untouched = zeroTarget();
      assertOneLine(restore(nginx.url("/disk.img"), untouched), 4, range);
      assertOneLine(restore(nginx.url("/noranges/disk.img"), untouched), 4, range);
      assertOneLine(scan(nginx.url("/disk.img")), 4, range);
      assertOneLine(verify(nginx.url("/disk.img"), untouched), 4, range);
    }
  }
}
