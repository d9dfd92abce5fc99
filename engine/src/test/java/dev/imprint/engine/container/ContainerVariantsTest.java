package dev.imprint.engine.container;

import static dev.imprint.engine.container.ContainerDamageTest.getLong;
import static dev.imprint.engine.container.ContainerDamageTest.putBytes;
import static dev.imprint.engine.container.ContainerDamageTest.putLong;
import static dev.imprint.engine.container.ContainerDamageTest.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Variants of the formats that qemu-img convert never writes, made with qemu-io or by editing the
 * tables: qcow2 v3 zero clusters (with and without their host cluster) and VHDX blocks in the ZERO,
 * UNMAPPED, UNDEFINED and NOT_PRESENT states.
 */
public class ContainerVariantsTest {
  private static final int MIB = 1 << 20;
  private static final int CLUSTER = 64 << 10;

  @TempDir Path dir;

  @Test
  void qcow2ZeroClustersReadAsZerosAndAreZeroRanges() throws Exception {
    Path raw = ForeignImages.raw(dir, 11);
    Path img = qcow2WithZeroClusters(raw);
    Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw.toString(), img.toString());

    long l2 = ContainerDamageTest.qcow2L2(img);
    long kept = getLong(img, l2, ByteOrder.BIG_ENDIAN);
    long dropped = getLong(img, l2 + 8L * (16 * MIB / CLUSTER), ByteOrder.BIG_ENDIAN);
    assertEquals(1, kept & 1, "zero flag of cluster 0");
    long host = kept & 0x00ff_ffff_ffff_fe00L;
    assertNotEquals(0, host, "qemu-io kept cluster 0's host cluster");
    assertFalse(isZero(read(img, host, CLUSTER)), "the kept host cluster still holds old data");
    assertEquals(1, dropped, "cluster 256: the zero flag alone");

    try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
      assertEquals(TestData.sha256(raw), ContainerReadersTest.sha256(disk, disk.size(), 300_000));
      assertKind(disk, 0, MIB, ContainerExtent.Kind.ZERO);
      assertKind(disk, 16L * MIB, MIB / 2, ContainerExtent.Kind.ZERO);
      assertKind(disk, 16L * MIB + MIB / 2, MIB / 2, ContainerExtent.Kind.DATA);
      ByteBuffer b = ByteBuffer.allocate(CLUSTER);
      disk.read(b, 0);
      assertTrue(isZero(b.array()), "a zero cluster with a host cluster reads as zeros");
      assertTrue(Containers.bytesByKind(disk)[ContainerExtent.Kind.ZERO.ordinal()] >= 3L * MIB / 2);
    }
  }

  @Test
  void vhdxBlocksInEveryStateButPresentReadAsZeros() throws Exception {
    Root.assumeCommands("qemu-img");
    Path raw = ForeignImages.raw(dir, 12);
    Path img = dir.resolve("states.vhdx");
    // 1 MiB blocks: the first four hold the random data, and the chunk ratio (4096) puts no
    // sector bitmap entry among the 25 payload entries.
    convert(raw, "vhdx", "block_size=1M", img);
    long bat = ContainerDamageTest.vhdxBat(img);
    long[] present = new long[4];
    for (int i = 0; i < 4; i++) {
      present[i] = getLong(img, bat + 8L * i, ByteOrder.LITTLE_ENDIAN);
      assertEquals(6, present[i] & 7, "block " + i + " is fully present");
    }
    // ZERO and UNMAPPED keep their file offset (the format allows it; the bytes there are stale),
    // UNDEFINED and NOT_PRESENT have none.
    putLong(img, bat, present[0] & ~7L | 2, ByteOrder.LITTLE_ENDIAN);
    putLong(img, bat + 8, present[1] & ~7L | 3, ByteOrder.LITTLE_ENDIAN);
    putLong(img, bat + 16, 1, ByteOrder.LITTLE_ENDIAN);
    putLong(img, bat + 24, 0, ByteOrder.LITTLE_ENDIAN);
    putBytes(raw, 0, new byte[4 * MIB]);

    try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
      assertEquals(
          TestData.sha256(raw), ContainerReadersTest.sha256(disk, ForeignImages.RAW_SIZE, 700_000));
      assertKind(disk, 0, MIB, ContainerExtent.Kind.ZERO);
      assertKind(disk, MIB, 3 * MIB, ContainerExtent.Kind.UNALLOCATED);
      assertKind(disk, 16L * MIB, MIB, ContainerExtent.Kind.DATA);
      // qemu-img itself marks the blocks it finds all zeros ZERO: the four edited blocks move
      // from present to zero (1) and not present (3).
      String blocks = disk.describe().get("blocks");
      assertTrue(blocks.startsWith("6 present, ") && blocks.contains(" 3 not present"), blocks);
    }
  }

  @Test
  void qcow2WithAnInternalSnapshotReadsItsCurrentDisk() throws Exception {
    Root.assumeCommands("qemu-img", "qemu-io");
    Path raw = ForeignImages.raw(dir, 13);
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    Cmd.run("qemu-img", "snapshot", "-c", "before", img.toString());
    // Written after the snapshot: copies of shared clusters and tables, the old ones kept.
    Cmd.run(
        "qemu-io",
        "-f",
        "qcow2",
        "-c",
        "write -P 0xab 100k 200k",
        "-c",
        "write -P 0xcd 20M 64k",
        img.toString());
    byte[] ab = new byte[200 << 10];
    Arrays.fill(ab, (byte) 0xab);
    putBytes(raw, 100 << 10, ab);
    byte[] cd = new byte[64 << 10];
    Arrays.fill(cd, (byte) 0xcd);
    putBytes(raw, 20L * MIB, cd);
    Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw.toString(), img.toString());
    try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
      assertEquals(TestData.sha256(raw), ContainerReadersTest.sha256(disk, disk.size(), 1 << 20));
    }
  }

  @Test
  void qcow2OfTheSmallestAndLargestClustersReads() throws Exception {
    Root.assumeCommands("qemu-img");
    Path raw = ForeignImages.raw(dir, 14);
    for (String cluster : new String[] {"512", "2M"}) {
      Path img = dir.resolve("c" + cluster + ".qcow2");
      convert(raw, "qcow2", "cluster_size=" + cluster, img);
      try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
        assertEquals(
            TestData.sha256(raw),
            ContainerReadersTest.sha256(disk, ForeignImages.RAW_SIZE, 777_777),
            cluster);
      }
    }
  }

  /**
   * Past 4 GiB of 1 MiB blocks (the chunk ratio with 512-byte sectors is 4096) the BAT holds a
   * sector bitmap entry between payload entries: blocks after it must not be shifted by one.
   */
  @Test
  void vhdxOfMoreThanOneChunkSkipsTheSectorBitmapEntries() throws Exception {
    Root.assumeCommands("qemu-img");
    long size = (4L << 30) + 8 * MIB;
    Path raw = dir.resolve("big.raw");
    TestData.setLength(raw, size);
    long[] at = {0, (4L << 30) - MIB, 4L << 30, (4L << 30) + 3 * MIB};
    for (int i = 0; i < at.length; i++) {
      putBytes(raw, at[i], TestData.random(MIB, 60 + i));
    }
    for (String zeroState : new String[] {"on", "off"}) {
      Path img = dir.resolve("big-" + zeroState + ".vhdx");
      convert(raw, "vhdx", "block_size=1M,block_state_zero=" + zeroState, img);
      try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
        assertEquals(size, disk.size());
        for (int i = 0; i < at.length; i++) {
          ByteBuffer b = ByteBuffer.allocate(MIB);
          disk.read(b, at[i]);
          assertTrue(
              Arrays.equals(TestData.random(MIB, 60 + i), b.array()),
              zeroState + ": block at " + at[i]);
          assertKind(disk, at[i], MIB, ContainerExtent.Kind.DATA);
        }
        assertEquals(4L * MIB, Containers.bytesByKind(disk)[ContainerExtent.Kind.DATA.ordinal()]);
      }
    }
  }

  /**
   * {@code raw} (from {@link ForeignImages#raw}) as a qcow2 with zero clusters made by qemu-io over
   * its random data: 1 MiB at 0 keeps its host clusters (the zero flag and an offset), 512 KiB at
   * 16 MiB drops them (the zero flag alone); {@code raw} is zeroed there to match.
   */
  public static Path qcow2WithZeroClusters(Path raw) throws IOException {
    Root.assumeCommands("qemu-img", "qemu-io");
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    Cmd.run(
        "qemu-io",
        "-f",
        "qcow2",
        "-c",
        "write -z 0 1M",
        "-c",
        "write -z -u 16M 512k",
        img.toString());
    putBytes(raw, 0, new byte[MIB]);
    putBytes(raw, 16L * MIB, new byte[MIB / 2]);
    return img;
  }

  /** {@code raw} converted by qemu-img to {@code format} with {@code options}, as {@code out}. */
  public static Path convert(Path raw, String format, String options, Path out) {
    Cmd.run(
        "qemu-img",
        "convert",
        "-f",
        "raw",
        "-O",
        format,
        "-o",
        options,
        raw.toString(),
        out.toString());
    return out;
  }

  /** Every extent overlapping {@code [offset, offset + length)} is of {@code kind}. */
  static void assertKind(ContainerDisk disk, long offset, long length, ContainerExtent.Kind kind)
      throws IOException {
    boolean seen = false;
    for (ContainerExtent e : disk.extents()) {
      if (e.end() > offset && e.offset() < offset + length) {
        assertEquals(kind, e.kind(), () -> e + " inside " + offset + "+" + length);
        seen = true;
      }
    }
    assertTrue(seen, "no extent at " + offset);
  }

  private static boolean isZero(byte[] b) {
    return Arrays.equals(b, new byte[b.length]);
  }
}
