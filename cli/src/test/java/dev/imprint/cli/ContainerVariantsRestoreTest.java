package dev.imprint.cli;

import static dev.imprint.engine.container.ContainerDamageTest.getLong;
import static dev.imprint.engine.container.ContainerDamageTest.putLong;
import static dev.imprint.engine.container.ContainerDamageTest.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.bmap.BmapTest;
import dev.imprint.engine.container.ContainerDamageTest;
import dev.imprint.engine.container.ContainerVariantsTest;
import dev.imprint.engine.container.ForeignImages;
import dev.imprint.engine.container.udif.UdifImages;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.RangeServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Restores of container variants and bad inputs the format tests read but do not restore: qcow2
 * zero clusters, VHDX and dynamic VHD over http(s) ranges (fetching only what the filesystem uses),
 * a UDIF of a LUKS volume, bmap ranges whose SHA-1 or MD5 does not match, and damaged VHDX and VHD
 * tables, which leave the target untouched.
 */
class ContainerVariantsRestoreTest {
  private static final int MIB = 1 << 20;

  @TempDir Path tmp;

  private static CliRun.Result restore(String source, Path target, String... more) {
    List<String> args = new ArrayList<>(List.of("restore", "--source", source));
    args.addAll(List.of(more));
    args.addAll(List.of("--target", target.toString(), "--erase", "--noprompt"));
    return CliRun.run(args.toArray(String[]::new));
  }

  private Path zeroTarget(String name, long size) throws IOException {
    Path t = tmp.resolve(name);
    TestData.setLength(t, size);
    return t;
  }

  @Test
  void qcow2ZeroClustersRestoreByteExactAndOverwriteStaleBytes() throws Exception {
    Path raw = ForeignImages.raw(tmp, 31);
    Path img = ContainerVariantsTest.qcow2WithZeroClusters(raw);
    Path target = zeroTarget("target.bin", ForeignImages.RAW_SIZE);
    CliRun.Result r = restore(img.toString(), target);
    assertEquals(0, r.code(), r::toString);
    assertEquals(TestData.sha256(raw), TestData.sha256(target));
    // On a disk holding other bytes, the zero clusters are written as zeros.
    Path stale = tmp.resolve("stale.bin");
    TestData.randomFile(stale, ForeignImages.RAW_SIZE, 5);
    CliRun.Result s = restore(img.toString(), stale);
    assertEquals(0, s.code(), s::toString);
    assertArrayEquals(new byte[MIB], read(stale, 0, MIB));
    assertArrayEquals(new byte[MIB / 2], read(stale, 16L * MIB, MIB / 2));
    assertArrayEquals(
        read(raw, 16L * MIB + MIB / 2, MIB / 2), read(stale, 16L * MIB + MIB / 2, MIB / 2));
  }

  @Test
  void vhdxAndDynamicVhdRestoreOverHttpRanges() throws Exception {
    Root.assumeCommands("qemu-img");
    Root.assume(NginxServer.available(), "needs nginx (Debian: nginx-light)");
    Path raw = ForeignImages.raw(tmp, 32);
    try (NginxServer nginx = new NginxServer(tmp.resolve("nginx"), "1000m")) {
      for (ForeignImages.Kind kind :
          new ForeignImages.Kind[] {ForeignImages.Kind.VHDX, ForeignImages.Kind.VHD_DYNAMIC}) {
        Files.copy(ForeignImages.convert(raw, kind), nginx.www().resolve(kind.name()));
      }
      nginx.start();
      for (String name : new String[] {"VHDX", "VHD_DYNAMIC"}) {
        Path target = zeroTarget(name + ".target", ForeignImages.RAW_SIZE);
        CliRun.Result r = restore(nginx.url("/" + name), target);
        assertEquals(0, r.code(), () -> name + ": " + r + "\n" + nginx.log());
        assertEquals(TestData.sha256(raw), TestData.sha256(target), name);
      }
    }
  }

  @Test
  void aVhdxFromAServerWithoutRangesIsRefusedWithWhatToDoAndWritesNothing() throws Exception {
    Root.assumeCommands("qemu-img");
    Path vhdx = ForeignImages.convert(ForeignImages.raw(tmp, 34), ForeignImages.Kind.VHDX);
    try (RangeServer server = new RangeServer(Files.readAllBytes(vhdx))) {
      server.ignoreRanges();
      Path target = tmp.resolve("kept.bin");
      TestData.randomFile(target, ForeignImages.RAW_SIZE, 7);
      String before = TestData.sha256(target);
      CliRun.Result r = restore(server.uri("/disk.vhdx").toString(), target);
      assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
      assertTrue(
          r.err().lines().anyMatch(l -> l.contains("VHDX") && l.contains("range support")),
          r::toString);
      assertFalse((r.out() + r.err()).contains("Exception"), r::toString);
      assertEquals(before, TestData.sha256(target));
    }
  }

  /**
   * A 64 MiB disk full of old random bytes with a small ext4 on it: its VHDX (or dynamic VHD)
   * stores every block, but a restore over http fetches the tables and what the filesystem uses,
   * not the container.
   */
  @ParameterizedTest
  @CsvSource({"vhdx, subformat=dynamic", "vpc, 'subformat=dynamic,force_size=on'"})
  void anHttpRestoreOfAContainerFetchesOnlyWhatTheFilesystemUses(String format, String options)
      throws Exception {
    Root.assumeCommands("qemu-img", "mke2fs", "e2fsck", "debugfs");
    Root.assume(NginxServer.available(), "needs nginx (Debian: nginx-light)");
    long size = 64L * MIB;
    Path disk = tmp.resolve("disk.raw");
    TestData.randomFile(disk, size, 40);
    Path files = Files.createDirectories(tmp.resolve("files"));
    byte[] data = TestData.random(2 * MIB + 123, 41);
    Files.write(files.resolve("data.bin"), data);
    Cmd.run(
        "mke2fs",
        "-F",
        "-q",
        "-t",
        "ext4",
        "-O",
        "^has_journal",
        "-E",
        "nodiscard",
        "-d",
        files.toString(),
        disk.toString());
    try (NginxServer nginx = new NginxServer(tmp.resolve("nginx"), "1000m")) {
      Path container = nginx.www().resolve("disk." + format);
      ContainerVariantsTest.convert(disk, format, options, container);
      long containerSize = Files.size(container);
      assertTrue(containerSize > size * 9 / 10, "the stale bytes are stored: " + containerSize);
      nginx.start();
      Path target = zeroTarget("fs.target", size);
      CliRun.Result r = restore(nginx.url("/disk." + format), target);
      assertEquals(0, r.code(), r::toString);
      long served = 0;
      Pattern bytes = Pattern.compile("^GET \\d+ \".*\" (\\d+)$");
      for (String line : nginx.accessLog()) {
        Matcher m = bytes.matcher(line);
        if (m.find()) {
          served += Long.parseLong(m.group(1));
        }
      }
      assertTrue(served > data.length, "served " + served);
      List<String> log = nginx.accessLog();
      assertTrue(
          served < containerSize / 4,
          "served " + served + " of a " + containerSize + "-byte container: " + log);
    }
    Path target = tmp.resolve("fs.target");
    Cmd.Result fsck = Cmd.result("e2fsck", "-fn", target.toString());
    assertEquals(0, fsck.exitCode(), () -> fsck.stdout() + fsck.stderr());
    Path out = tmp.resolve("data.out");
    Cmd.run("debugfs", "-R", "dump /data.bin " + out, target.toString());
    assertArrayEquals(data, Files.readAllBytes(out));
  }

  @Test
  void aPlainUdifOfALuksVolumeRestoresByteExact() throws Exception {
    byte[] disk = UdifImages.luksDisk(tmp);
    Path dmg = UdifImages.write(disk, tmp.resolve("luks.dmg"));
    Path target = zeroTarget("luks.target", disk.length);
    CliRun.Result r = restore(dmg.toString(), target);
    assertEquals(0, r.code(), r::toString);
    assertArrayEquals(disk, Files.readAllBytes(target));
  }

  /**
   * A raw image whose bmap (1.x with SHA-1, or MD5) was made before one of its bytes changed: the
   * restore fails with exit 4, and the damaged range's bytes never reach the target.
   */
  @ParameterizedTest
  @CsvSource({"1.3, ", "1.4, md5", "2.0, md5"})
  void aBmapRangeWhoseChecksumDiffersFailsBeforeItsBytesAreWritten(String version, String type)
      throws Exception {
    int blocks = 1024;
    byte[] img = TestData.random(blocks * 4096L, 50);
    Path bmap = tmp.resolve("disk.bmap");
    Files.writeString(
        bmap, BmapTest.bmapXml(img, 4096, version, type, 0, 99, 200, 200, 300, blocks - 1));
    byte[] bad = img.clone();
    bad[200 * 4096 + 17] ^= 0x10;
    Path image = Files.write(tmp.resolve("disk.img"), bad);
    Path target = tmp.resolve("target.bin");
    TestData.randomFile(target, img.length, 51);
    byte[] before = read(target, 200 * 4096, 4096);

    CliRun.Result r = restore(image.toString(), target, "--bmap", bmap.toString());
    assertEquals(ExitCode.DAMAGED, r.code(), r::toString);
    String all = r.out() + r.err();
    String algorithm = "md5".equals(type) ? "MD5" : "SHA-1";
    assertTrue(
        all.lines().anyMatch(l -> l.contains("blocks 200-200") && l.contains(algorithm)),
        r::toString);
    assertFalse(all.contains("Exception"), r::toString);
    byte[] after = read(target, 200 * 4096, 4096);
    assertFalse(Arrays.equals(Arrays.copyOfRange(bad, 200 * 4096, 201 * 4096), after));
    assertTrue(
        Arrays.equals(before, after) || Arrays.equals(new byte[4096], after),
        "the damaged range holds neither the old bytes nor zeros");
  }

  @Test
  void damagedVhdxAndVhdTablesWriteNothing() throws Exception {
    Root.assumeCommands("qemu-img");
    Path raw = ForeignImages.raw(tmp, 33);
    Path vhdx = ForeignImages.convert(raw, ForeignImages.Kind.VHDX);
    // The first BAT entry made to point at the log (qemu-img puts it at 1 MiB).
    long bat = ContainerDamageTest.vhdxBat(vhdx);
    long log = getLong(vhdx, 64 * 1024 + 72, ByteOrder.LITTLE_ENDIAN);
    putLong(vhdx, bat, (log >> 20) << 20 | 6, ByteOrder.LITTLE_ENDIAN);
    Path vhd = ForeignImages.convert(raw, ForeignImages.Kind.VHD_DYNAMIC);
    long header = getLong(vhd, Files.size(vhd) - 512 + 16, ByteOrder.BIG_ENDIAN);
    try (RandomAccessFile f = new RandomAccessFile(vhd.toFile(), "rw")) {
      f.seek(header + 100);
      f.write(0x33);
    }
    for (Object[] c : new Object[][] {{vhdx, "overlap"}, {vhd, "dynamic header checksum"}}) {
      Path target = tmp.resolve("kept-" + c[1].hashCode() + ".bin");
      TestData.randomFile(target, ForeignImages.RAW_SIZE, 6);
      String beforeSha = TestData.sha256(target);
      CliRun.Result r = restore(c[0].toString(), target);
      assertEquals(ExitCode.DAMAGED, r.code(), r::toString);
      assertEquals(1, r.err().lines().filter(l -> l.contains((String) c[1])).count(), r::toString);
      assertFalse((r.out() + r.err()).contains("Exception"), r::toString);
      assertEquals(beforeSha, TestData.sha256(target));
    }
  }
}
