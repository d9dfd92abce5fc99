package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.device.LibC;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restore --discard} onto a loop device whose backing file is full of random bytes: the
 * image's unallocated ranges must come out as holes in the backing file (a loop device discards by
 * punching them), and without --discard they must keep their old bytes. Looks at the file's blocks,
 * not at the exit code.
 */
class DiscardTest {
  private static final long MIB = EfiRootDisk.MIB;
  private static final long DISK_SIZE = 64 * MIB;

  @TempDir static Path shared;

  private static Path raw;
  private static Path image;

  /** The image's unallocated ranges, adjacent ones merged: {offset, length}. */
  private static List<long[]> unallocated;

  private static long unallocatedBytes;

  @TempDir Path tmp;

  private final Cleanup cleanup = new Cleanup();

  @BeforeAll
  static void buildImage() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("sgdisk", "mkfs.vfat", "mmd", "mcopy", "mke2fs");
    Path rootfs = Files.createDirectories(shared.resolve("rootfs"));
    Files.write(rootfs.resolve("random.bin"), TestData.random(3 * MIB, 1));
    raw = EfiRootDisk.build(shared, rootfs, "discard", 40 * MIB, DISK_SIZE);
    image = shared.resolve("disk.imprint");
    CliRun.Result r =
        CliRun.run("create", "--source", raw.toString(), "--output", image.toString());
    assertEquals(0, r.code(), r::toString);

    unallocated = new ArrayList<>();
    try (Image img = Image.open(FileDisk.open(image))) {
      for (IndexEntry e : img.metadata().index()) {
        if (e.kind() != RangeKind.UNALLOCATED) {
          continue;
        }
        long[] last = unallocated.isEmpty() ? null : unallocated.get(unallocated.size() - 1);
        if (last != null && last[0] + last[1] == e.logicalOffset()) {
          last[1] += e.logicalLength();
        } else {
          unallocated.add(new long[] {e.logicalOffset(), e.logicalLength()});
        }
        unallocatedBytes += e.logicalLength();
      }
    }
    assertTrue(
        unallocatedBytes >= 16 * MIB,
        "the image must have unallocated ranges to discard: " + unallocatedBytes);
  }

  @BeforeEach
  void needsRoot() {
    Root.assumeRoot();
  }

  @AfterEach
  void cleanUp() {
    cleanup.run(tmp);
  }

  @Test
  void discardLeavesHolesWhereTheImageIsUnallocated() throws Exception {
    Path backing = TestData.randomFile(tmp.resolve("target.bin"), DISK_SIZE, 7);
    long before = allocated(backing);
    assertTrue(before >= DISK_SIZE, "the backing file starts fully allocated: " + before);

    assertEquals(0, restore(backing, "--discard").code());

    long after = allocated(backing);
    assertTrue(
        after <= before - unallocatedBytes + MIB,
        "discarded ranges are freed in the backing file: "
            + after
            + " bytes allocated of "
            + before
            + ", "
            + unallocatedBytes
            + " unallocated in the image");
    for (long[] r : unallocated) {
      long start = r[0];
      long end = r[0] + r[1];
      assertEquals(start, seek(backing, start, LibC.SEEK_HOLE), () -> "hole at " + start);
      long nextData = seek(backing, start, LibC.SEEK_DATA);
      assertTrue(nextData >= end, "no data in " + start + ".." + end + ", found at " + nextData);
      assertTrue(isZero(backing, start, r[1]), "reads as zeros: " + start + ".." + end);
    }
    assertAllocatedRangesHoldTheDisk(backing);
  }

  /** The control: the same check must fail without --discard, or it proves nothing. */
  @Test
  void withoutDiscardUnallocatedRangesKeepTheirOldBytes() throws Exception {
    Path backing = TestData.randomFile(tmp.resolve("target.bin"), DISK_SIZE, 7);
    long before = allocated(backing);

    assertEquals(0, restore(backing).code());

    assertTrue(allocated(backing) >= before - MIB, "nothing freed: " + allocated(backing));
    for (long[] r : unallocated) {
      assertEquals(r[0], seek(backing, r[0], LibC.SEEK_DATA), "still data at " + r[0]);
      assertTrue(!isZero(backing, r[0], r[1]), "old bytes still at " + r[0]);
    }
    assertAllocatedRangesHoldTheDisk(backing);
  }

  private CliRun.Result restore(Path backing, String... extra) {
    LoopDevice loop = LoopDevice.attach(backing);
    cleanup.add(loop);
    List<String> args =
        new ArrayList<>(
            List.of(
                "restore",
                "--source",
                image.toString(),
                "--target",
                loop.path().toString(),
                "--erase",
                "--noprompt"));
    args.addAll(List.of(extra));
    CliRun.Result r = CliRun.run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r::toString);
    Cmd.run("sync");
    return r;
  }

  /** Everything outside the unallocated ranges is the source disk, byte for byte. */
  private static void assertAllocatedRangesHoldTheDisk(Path backing) throws Exception {
    long at = 0;
    for (long[] r : unallocated) {
      if (r[0] > at) {
        assertEquals(
            TestData.sha256(raw, at, r[0] - at),
            TestData.sha256(backing, at, r[0] - at),
            "bytes " + at + ".." + r[0]);
      }
      at = r[0] + r[1];
    }
    assertEquals(
        TestData.sha256(raw, at, DISK_SIZE - at), TestData.sha256(backing, at, DISK_SIZE - at));
  }

  private static long allocated(Path file) {
    return Long.parseLong(Cmd.run("stat", "-c", "%b", file.toString())) * 512;
  }

  private static long seek(Path file, long from, int whence) {
    int fd = LibC.INSTANCE.open(file.toString(), LibC.O_RDONLY);
    try {
      return LibC.INSTANCE.lseek(fd, from, whence);
    } finally {
      LibC.INSTANCE.close(fd);
    }
  }

  private static boolean isZero(Path file, long offset, long length) throws Exception {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate((int) MIB);
      for (long pos = offset; pos < offset + length; ) {
        b.clear().limit((int) Math.min(MIB, offset + length - pos));
        int n = ch.read(b, pos);
        assertTrue(n > 0, "short read at " + pos);
        for (int i = 0; i < n; i++) {
          if (b.get(i) != 0) {
            return false;
          }
        }
        pos += n;
      }
    }
    return true;
  }
}
