package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole-device images onto disks of another size, one partition out of a device image, and growing
 * filesystems. Needs root (loop devices).
 */
class TargetSizeTest {
  static final long MIB = 1 << 20;

  /** GPT disk of 32 MiB: FAT at 1-9 MiB, ext4 at 9-24 MiB, free space after. */
  static final long DISK = 32 * MIB;

  static final long EXT_START = 9 * MIB;
  static final long EXT_END = 24 * MIB;

  @TempDir static Path shared;
  static Path image;

  @TempDir Path dir;

  @BeforeAll
  static void build() throws IOException {
    Root.assumeRoot();
    Root.assumeCommands("sgdisk", "mke2fs", "mkfs.vfat", "e2fsck", "dumpe2fs");
    Path disk = shared.resolve("disk.img");
    Path files = shared.resolve("files");
    Files.createDirectories(files.resolve("etc"));
    byte[] b = new byte[3 << 20];
    new Random(11).nextBytes(b);
    Files.write(files.resolve("blob.bin"), b);
    Files.writeString(files.resolve("etc/hostname"), "imprint-test\n");
    Path ext = shared.resolve("ext.img");
    Files.write(ext, new byte[(int) (EXT_END - EXT_START)]);
    Cmd.run("mke2fs", "-q", "-t", "ext4", "-d", files.toString(), ext.toString());
    image = imageOf(disk, DISK, ext);
  }

  /**
   * Images a new GPT disk {@code disk} of {@code size} bytes: FAT at 1-9 MiB, then {@code volume}
   * (a filesystem image) as partition 2 from 9 MiB, free space after. Returns the image.
   */
  private static Path imageOf(Path disk, long size, Path volume) throws IOException {
    long volumeEnd = EXT_START + Files.size(volume);
    TestData.randomFile(disk, size, 5);
    Cmd.run(
        "sgdisk",
        "-o",
        "-n1:2048:+8M",
        "-t1:ef00",
        "-n2:" + EXT_START / 512 + ":" + (volumeEnd / 512 - 1),
        "-t2:8300",
        disk.toString());
    Path fat = disk.resolveSibling(disk.getFileName() + ".fat");
    Files.write(fat, new byte[(int) (8 * MIB)]);
    Cmd.run("mkfs.vfat", fat.toString());
    TestData.copyInto(fat, disk, MIB);
    TestData.copyInto(volume, disk, EXT_START);
    Path image = disk.resolveSibling(disk.getFileName() + ".imprint");
    CliRun.Result r =
        CliRun.run("create", "--source", disk.toString(), "--output", image.toString());
    assertEquals(0, r.code(), r::toString);
    return image;
  }

  private LoopDevice target(String name, long size) throws IOException {
    Path f = dir.resolve(name);
    TestData.randomFile(f, size, size);
    return LoopDevice.attach(f);
  }

  private static void assertGptClean(LoopDevice d) {
    String v = Cmd.result("sgdisk", "-v", d.path().toString()).stdout();
    assertTrue(v.contains("No problems found"), v);
  }

  /**
   * A filesystem {@code --grow-last-partition} grows: how it is made, checked and measured.
   *
   * @param label the name imprint and its messages use
   * @param size its partition in the source disk
   * @param disk the disk it is restored onto and grown in
   * @param sizeFactors fields of {@code describe}'s output whose product is its size in bytes
   */
  record Grown(
      String label,
      long size,
      long disk,
      List<String> tools,
      List<String> mkfs,
      List<String> check,
      List<String> describe,
      List<String> sizeFactors) {
    static final Grown EXT4 =
        new Grown(
            "ext4",
            15 * MIB,
            64 * MIB,
            List.of("mke2fs", "e2fsck", "dumpe2fs", "resize2fs"),
            List.of("mke2fs", "-q", "-F", "-t", "ext4"),
            List.of("e2fsck", "-fn"),
            List.of("dumpe2fs", "-h"),
            List.of("Block count", "Block size"));

    /** mkfs.xfs refuses filesystems under 300 MiB. */
    static final Grown XFS =
        new Grown(
            "xfs",
            304 * MIB,
            384 * MIB,
            List.of("mkfs.xfs", "xfs_repair", "xfs_db", "xfs_growfs"),
            List.of("mkfs.xfs", "-q", "-f", "-K"),
            List.of("xfs_repair", "-n", "-f"),
            List.of("xfs_db", "-r", "-c", "sb 0", "-c", "p dblocks", "-c", "p blocksize"),
            List.of("dblocks", "blocksize"));

    /**
     * Default profiles: metadata DUP, which wants about 110 MiB. The kernel resizes btrfs only to
     * 256 MiB or more, so it grows onto a larger disk.
     */
    static final Grown BTRFS =
        new Grown(
            "btrfs",
            128 * MIB,
            320 * MIB,
            List.of("mkfs.btrfs", "btrfs"),
            List.of("mkfs.btrfs", "-q", "-f", "-K"),
            List.of("btrfs", "check", "--readonly", "--check-data-csum"),
            List.of("btrfs", "inspect-internal", "dump-super"),
            List.of("total_bytes"));

    @Override
    public String toString() {
      return label;
    }

    /** Runs {@code argv} with {@code device} appended. */
    static Cmd.Result on(List<String> argv, Path device) {
      List<String> all = new ArrayList<>(argv);
      all.add(device.toString());
      return Cmd.result(all.toArray(String[]::new));
    }

    /** Runs {@code argv} with {@code device} appended, which must succeed; its stdout. */
    static String ok(List<String> argv, Path device) {
      Cmd.Result r = on(argv, device);
      assertEquals(0, r.exitCode(), r::toString);
      return r.stdout();
    }

    void assertClean(Path device) {
      Cmd.Result r = on(check, device);
      assertEquals(0, r.exitCode(), () -> label() + " check: " + r.stdout() + r.stderr());
    }

    /** The filesystem's own idea of its size, in bytes. */
    long bytes(Path device) {
      String out = ok(describe, device);
      long product = 1;
      for (String field : sizeFactors) {
        Matcher m =
            Pattern.compile("(?m)^" + Pattern.quote(field) + "\\s*[:=]?\\s*(\\d+)").matcher(out);
        assertTrue(m.find(), () -> "no " + field + " in " + out);
        product *= Long.parseLong(m.group(1));
      }
      return product;
    }
  }

  private static void assertExtClean(Path backing, long offset, long length) {
    try (LoopDevice p = LoopDevice.attach(backing, offset, length)) {
      Grown.EXT4.assertClean(p.path());
    }
  }

  @Test
  void largerDiskGetsItsBackupGptAtTheEnd() throws IOException {
    try (LoopDevice t = target("big.bin", 48 * MIB)) {
      CliRun.Result r = restore(image, t);
      assertEquals(0, r.code(), r::toString);
      assertGptClean(t);
      assertTrue(Cmd.run("sgdisk", "-p", t.path().toString()).contains("98304 sectors"));
      assertExtClean(t.backingFile(), EXT_START, EXT_END - EXT_START);
      assertStandaloneVerifyAgrees(t);
    }
  }

  /**
   * {@code imprint verify} checks the table the restore wrote for this disk's size: it passes on
   * the restored disk and fails, naming the offset, once a byte of the relocated table changes.
   */
  private void assertStandaloneVerifyAgrees(LoopDevice t) throws IOException {
    CliRun.Result v =
        CliRun.run("verify", "--source", image.toString(), "--target", t.path().toString());
    assertEquals(0, v.code(), v::toString);
    // The relocated primary GPT header's CRC field (LBA 1, byte 16): rewritten for this size.
    long at = 512 + 16;
    byte[] one = new byte[1];
    try (var c =
        java.nio.channels.FileChannel.open(
            t.backingFile(),
            java.nio.file.StandardOpenOption.READ,
            java.nio.file.StandardOpenOption.WRITE)) {
      c.read(java.nio.ByteBuffer.wrap(one), at);
      one[0] ^= 0x5a;
      c.write(java.nio.ByteBuffer.wrap(one), at);
    }
    Cmd.run("blockdev", "--flushbufs", t.path().toString());
    CliRun.Result bad =
        CliRun.run("verify", "--source", image.toString(), "--target", t.path().toString());
    assertEquals(ExitCode.VERIFY_FAILED, bad.code(), bad::toString);
    assertTrue(bad.out().contains("differs at byte 0"), bad::toString);
  }

  @Test
  void smallerDiskTakesTheImageWhenItsPartitionsFit() throws IOException {
    try (LoopDevice t = target("small.bin", 26 * MIB)) {
      CliRun.Result r = restore(image, t);
      assertEquals(0, r.code(), r::toString);
      assertGptClean(t);
      assertExtClean(t.backingFile(), EXT_START, EXT_END - EXT_START);
      assertStandaloneVerifyAgrees(t);
    }
  }

  @Test
  void tooSmallDiskIsRefusedWithTheSizeNeeded() throws IOException {
    try (LoopDevice t = target("tiny.bin", 20 * MIB)) {
      byte[] before = Files.readAllBytes(t.backingFile());
      CliRun.Result r = restore(image, t);
      assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
      assertTrue(r.err().contains("smaller than the image needs"), r::toString);
      assertTrue(r.err().contains(Long.toString(20 * MIB)), r::toString);
      assertEquals(1, r.err().strip().lines().count(), r::toString);
      assertEquals(-1, java.util.Arrays.mismatch(before, Files.readAllBytes(t.backingFile())));
    }
  }

  /** An image whose last partition holds a filesystem of {@code bytes} (its own count). */
  record GrowSource(Path image, long bytes) {}

  /** Images a disk whose last partition (2, at 9 MiB) holds {@code fs} with the shared files. */
  private GrowSource growSource(Grown fs) throws IOException {
    Root.assumeCommands(fs.tools().toArray(String[]::new));
    Path volume = dir.resolve("volume.img");
    TestData.setLength(volume, fs.size());
    Grown.ok(fs.mkfs(), volume);
    long bytes;
    try (LoopDevice v = LoopDevice.attach(volume);
        TempMount m = TempMount.mount(v.path())) {
      Cmd.run("cp", "-a", shared.resolve("files") + "/.", m.mountPoint().toString());
      bytes = fs.bytes(v.path());
    }
    Path image = imageOf(dir.resolve("grow-source.img"), EXT_START + fs.size() + MIB, volume);
    return new GrowSource(image, bytes);
  }

  /** {@code imprint restore} of {@code source} onto {@code t}, erasing it, with {@code more}. */
  private static CliRun.Result restore(Path source, LoopDevice t, String... more) {
    List<String> argv =
        new ArrayList<>(
            List.of(
                "restore",
                "--source",
                source.toString(),
                "--target",
                t.path().toString(),
                "--erase",
                "--noprompt"));
    argv.addAll(List.of(more));
    return CliRun.run(argv.toArray(String[]::new));
  }

  static Stream<Grown> grown() {
    return Stream.of(Grown.EXT4, Grown.XFS, Grown.BTRFS);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("grown")
  void growLastPartitionFillsTheDisk(Grown fs) throws IOException {
    GrowSource source = growSource(fs);
    long before = source.bytes();
    try (LoopDevice t = target("grow.bin", fs.disk())) {
      CliRun.Result r = restore(source.image(), t, "--grow-last-partition");
      assertEquals(0, r.code(), r::toString);
      // The last partition ends just before the backup GPT (33 sectors).
      long end = fs.disk() - 33 * 512;
      long length = end - EXT_START;
      assertTrue(r.out().contains(fs.label() + " grown to fill " + length + " bytes"), r::toString);
      assertGptClean(t);
      String p2 = Cmd.run("sgdisk", "-i", "2", t.path().toString());
      assertTrue(p2.contains("Last sector: " + (end / 512 - 1) + " "), p2);
      try (LoopDevice p = LoopDevice.attach(t.backingFile(), EXT_START, length)) {
        fs.assertClean(p.path());
        long after = fs.bytes(p.path());
        assertTrue(
            after > before && after > length - 4 * MIB,
            fs + " was " + before + " bytes, now " + after + " in a " + length + "-byte partition");
        try (TempMount m = TempMount.mount(p.path(), "ro")) {
          assertSameFiles(shared.resolve("files"), m.mountPoint());
        }
      }
    }
  }

  @Test
  void btrfsIsNotGrownBelowTheKernelsMinimum() throws IOException {
    GrowSource source = growSource(Grown.BTRFS);
    try (LoopDevice t = target("grow-small.bin", 200 * MIB)) {
      CliRun.Result r = restore(source.image(), t, "--grow-last-partition");
      assertEquals(ExitCode.TARGETS_FAILED, r.code(), r::toString);
      assertTrue(r.err().contains("256 MiB"), r::toString);
      // The restore itself stands: the filesystem is whole, at its old size.
      try (LoopDevice p = LoopDevice.attach(t.backingFile(), EXT_START, Grown.BTRFS.size())) {
        Grown.BTRFS.assertClean(p.path());
        assertEquals(source.bytes(), Grown.BTRFS.bytes(p.path()));
      }
    }
  }

  /** Every regular file under {@code expected} reads back equal under {@code actual}. */
  private static void assertSameFiles(Path expected, Path actual) throws IOException {
    List<Path> all;
    try (Stream<Path> s = Files.walk(expected)) {
      all = s.filter(Files::isRegularFile).toList();
    }
    assertTrue(all.size() >= 2, "fixture has files");
    for (Path f : all) {
      Path rel = expected.relativize(f);
      assertArrayEquals(
          Files.readAllBytes(f), Files.readAllBytes(actual.resolve(rel)), rel::toString);
    }
  }

  @Test
  void oneVolumeOutOfADeviceImageGrowsIntoItsPartition() throws IOException {
    try (LoopDevice t = target("vol.bin", 24 * MIB)) {
      CliRun.Result r = restore(image, t, "--source-volume", "2", "--grow");
      assertEquals(0, r.code(), r::toString);
      try (LoopDevice p = LoopDevice.attach(t.backingFile(), 0, 24 * MIB)) {
        Grown.EXT4.assertClean(p.path());
        long bytes = Grown.EXT4.bytes(p.path());
        assertTrue(bytes >= 23 * MIB, "grown to " + bytes + " bytes");
      }
    }
  }

  @Test
  void missingVolumeIsNamed() {
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--source-volume",
            "9",
            "--target",
            dir.resolve("x.img").toString(),
            "--erase",
            "--noprompt");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("no partition 9: it has 1, 2"), r::toString);
    assertTrue(Files.notExists(dir.resolve("x.img")));
  }

  @Test
  void remountPutsAMountedVolumeBackWhereItWas() throws IOException {
    Path src = dir.resolve("vol-src");
    Files.createDirectories(src);
    Files.writeString(src.resolve("marker"), "restored\n");
    Path vol = dir.resolve("vol.img");
    Files.write(vol, new byte[(int) (16 * MIB)]);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", "-d", src.toString(), vol.toString());
    Path volImage = dir.resolve("vol.imprint");
    assertEquals(
        0,
        CliRun.run(
                "create", "--source", vol.toString(), "--volume", "--output", volImage.toString())
            .code());
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    try (LoopDevice t = target("mounted.bin", 16 * MIB)) {
      Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", t.path().toString());
      Cmd.run("mount", t.path().toString(), mnt.toString());
      try {
        CliRun.Result r = restore(volImage, t, "--remount");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("Remounting target volume"), r::toString);
        assertEquals("restored\n", Files.readString(mnt.resolve("marker")));
      } finally {
        Cmd.result("umount", mnt.toString());
      }
    }
  }

  /**
   * asr's own example: {@code -target /Volumes/Macintosh\ HD/ -erase}. The mount point names the
   * device under it; the volume is unmounted, restored, verified and mounted back where it was,
   * with the options it had, without --remount.
   */
  @Test
  void aMountPointAsTargetMeansItsDeviceAndIsMountedBackWithItsOptions() throws IOException {
    Path src = dir.resolve("asr-src");
    Files.createDirectories(src);
    Files.writeString(src.resolve("marker"), "from the image\n");
    Path vol = dir.resolve("asr-vol.img");
    Files.write(vol, new byte[(int) (16 * MIB)]);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", "-d", src.toString(), vol.toString());
    Path volImage = dir.resolve("asr-vol.imprint");
    assertEquals(
        0,
        CliRun.run(
                "create", "--source", vol.toString(), "--volume", "--output", volImage.toString())
            .code());
    Path mnt = Files.createDirectories(dir.resolve("Macintosh HD"));
    try (LoopDevice t = target("asr.bin", 16 * MIB)) {
      Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", t.path().toString());
      Cmd.run("mount", "-o", "noatime,nodev", t.path().toString(), mnt.toString());
      Files.writeString(mnt.resolve("old"), "old contents\n");
      try {
        CliRun.Result r =
            CliRun.run("-source", volImage.toString(), "-target", mnt + "/", "-erase", "-noprompt");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("Remounting target volume"), r::toString);
        assertEquals("from the image\n", Files.readString(mnt.resolve("marker")));
        assertFalse(Files.exists(mnt.resolve("old")));
        String line =
            Files.readAllLines(Path.of("/proc/self/mounts")).stream()
                .filter(l -> l.contains(" " + mnt.toString().replace(" ", "\\040") + " "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("not mounted back at " + mnt));
        assertTrue(line.contains("noatime") && line.contains("nodev"), line);
      } finally {
        Cmd.result("umount", mnt.toString());
      }
      // --noremount leaves it unmounted.
      Cmd.run("mount", t.path().toString(), mnt.toString());
      try {
        CliRun.Result r =
            CliRun.run(
                "restore",
                "--source",
                volImage.toString(),
                "--target",
                mnt.toString(),
                "--erase",
                "--noprompt",
                "--noremount");
        assertEquals(0, r.code(), r::toString);
        assertFalse(Files.exists(mnt.resolve("marker")), "still mounted");
      } finally {
        Cmd.result("umount", mnt.toString());
      }
    }
  }

  @Test
  void aDirectoryThatIsNotAMountPointIsRefused() throws IOException {
    Path plain = Files.createDirectories(dir.resolve("plain-dir"));
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            plain.toString(),
            "--erase",
            "--noprompt");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("is a directory, not a mounted volume"), r::toString);
  }
}
