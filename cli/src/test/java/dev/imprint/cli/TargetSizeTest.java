package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    TestData.randomFile(disk, DISK, 5);
    Cmd.run(
        "sgdisk",
        "-o",
        "-n1:2048:+8M",
        "-t1:ef00",
        "-n2:0:" + (EXT_END / 512 - 1),
        "-t2:8300",
        disk.toString());
    Path fat = shared.resolve("fat.img");
    Files.write(fat, new byte[(int) (8 * MIB)]);
    Cmd.run("mkfs.vfat", fat.toString());
    Path ext = shared.resolve("ext.img");
    Files.write(ext, new byte[(int) (EXT_END - EXT_START)]);
    Cmd.run("mke2fs", "-q", "-t", "ext4", "-d", files.toString(), ext.toString());
    Cmd.run("dd", "if=" + fat, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc", "status=none");
    Cmd.run("dd", "if=" + ext, "of=" + disk, "bs=1M", "seek=9", "conv=notrunc", "status=none");
    image = shared.resolve("disk.imprint");
    CliRun.Result r =
        CliRun.run("create", "--source", disk.toString(), "--output", image.toString());
    assertEquals(0, r.code(), r::toString);
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

  private static void assertExtClean(Path backing, long offset, long length) {
    try (LoopDevice p = LoopDevice.attach(backing, offset, length)) {
      Cmd.Result r = Cmd.result("e2fsck", "-fn", p.path().toString());
      assertEquals(0, r.exitCode(), r.stdout() + r.stderr());
    }
  }

  private static long blockCount(Path backing, long offset, long length) {
    try (LoopDevice p = LoopDevice.attach(backing, offset, length)) {
      for (String line : Cmd.run("dumpe2fs", "-h", p.path().toString()).split("\n")) {
        if (line.startsWith("Block count:")) {
          return Long.parseLong(line.substring(12).trim());
        }
      }
    }
    throw new AssertionError("no block count");
  }

  @Test
  void largerDiskGetsItsBackupGptAtTheEnd() throws IOException {
    try (LoopDevice t = target("big.bin", 48 * MIB)) {
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              image.toString(),
              "--target",
              t.path().toString(),
              "--erase",
              "--noprompt");
      assertEquals(0, r.code(), r::toString);
      assertGptClean(t);
      assertTrue(Cmd.run("sgdisk", "-p", t.path().toString()).contains("98304 sectors"));
      assertExtClean(t.backingFile(), EXT_START, EXT_END - EXT_START);
    }
  }

  @Test
  void smallerDiskTakesTheImageWhenItsPartitionsFit() throws IOException {
    try (LoopDevice t = target("small.bin", 26 * MIB)) {
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              image.toString(),
              "--target",
              t.path().toString(),
              "--erase",
              "--noprompt");
      assertEquals(0, r.code(), r::toString);
      assertGptClean(t);
      assertExtClean(t.backingFile(), EXT_START, EXT_END - EXT_START);
    }
  }

  @Test
  void tooSmallDiskIsRefusedWithTheSizeNeeded() throws IOException {
    try (LoopDevice t = target("tiny.bin", 20 * MIB)) {
      byte[] before = Files.readAllBytes(t.backingFile());
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              image.toString(),
              "--target",
              t.path().toString(),
              "--erase",
              "--noprompt");
      assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
      assertTrue(r.err().contains("smaller than the image needs"), r::toString);
      assertTrue(r.err().contains(Long.toString(20 * MIB)), r::toString);
      assertEquals(1, r.err().strip().lines().count(), r::toString);
      assertEquals(-1, java.util.Arrays.mismatch(before, Files.readAllBytes(t.backingFile())));
    }
  }

  @Test
  void growLastPartitionFillsTheDisk() throws IOException {
    long before = blockCount(image.resolveSibling("disk.img"), EXT_START, EXT_END - EXT_START);
    try (LoopDevice t = target("grow.bin", 64 * MIB)) {
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              image.toString(),
              "--target",
              t.path().toString(),
              "--erase",
              "--noprompt",
              "--grow-last-partition");
      assertEquals(0, r.code(), r::toString);
      assertTrue(r.out().contains("resize2fs"), r::toString);
      assertGptClean(t);
      long end = 64 * MIB - 33 * 512;
      assertExtClean(t.backingFile(), EXT_START, end - EXT_START);
      assertTrue(blockCount(t.backingFile(), EXT_START, end - EXT_START) > before);
    }
  }

  @Test
  void oneVolumeOutOfADeviceImageGrowsIntoItsPartition() throws IOException {
    try (LoopDevice t = target("vol.bin", 24 * MIB)) {
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              image.toString(),
              "--source-volume",
              "2",
              "--target",
              t.path().toString(),
              "--erase",
              "--noprompt",
              "--grow");
      assertEquals(0, r.code(), r::toString);
      assertExtClean(t.backingFile(), 0, 24 * MIB);
      long blocks = blockCount(t.backingFile(), 0, 24 * MIB);
      assertTrue(blocks * 1024 >= 23 * MIB, "grown to " + blocks + " blocks");
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
        CliRun.Result r =
            CliRun.run(
                "restore",
                "--source",
                volImage.toString(),
                "--target",
                t.path().toString(),
                "--erase",
                "--noprompt",
                "--remount");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("Remounting target volume"), r::toString);
        assertEquals("restored\n", Files.readString(mnt.resolve("marker")));
      } finally {
        Cmd.result("umount", mnt.toString());
      }
    }
  }
}
