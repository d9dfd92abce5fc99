package dev.imprint.engine.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileDiskTest {
  private static final int MIB = 1 << 20;
  private static final long SIZE = 16L * MIB;
  private static final long[] WRITTEN = {0, 3L * MIB, 4L * MIB + 12_345, 9L * MIB, SIZE - 4096};
  private static final int WRITE_LENGTH = 4096;

  /** Filesystems known to answer SEEK_DATA/SEEK_HOLE with real holes. */
  private static final Set<String> HOLE_AWARE = Set.of("ext4", "xfs", "btrfs", "tmpfs");

  @TempDir Path dir;

  private Path sparseFile(byte[] expected) throws IOException {
    Path file = dir.resolve("sparse.img");
    Random random = new Random(7);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(SIZE);
      byte[] block = new byte[WRITE_LENGTH];
      for (long offset : WRITTEN) {
        random.nextBytes(block);
        raf.seek(offset);
        raf.write(block);
        System.arraycopy(block, 0, expected, (int) offset, block.length);
      }
    }
    return file;
  }

  @Test
  void dataExtentsCoverTheDataAndSkipTheHoles() throws IOException {
    byte[] expected = new byte[(int) SIZE];
    Path file = sparseFile(expected);
    try (FileDisk disk = FileDisk.open(file)) {
      assertEquals(SIZE, disk.size());
      assertEquals(512, disk.sectorSize());
      assertFalse(disk.isBlockDevice());
      List<Extent> extents = disk.dataExtents();

      long previousEnd = 0;
      long covered = 0;
      for (Extent extent : extents) {
        assertTrue(extent.offset() >= previousEnd, "extents overlap or are out of order");
        assertTrue(extent.end() <= SIZE, "extent past the end of the file");
        previousEnd = extent.end();
        covered += extent.length();
      }
      for (long offset : WRITTEN) {
        assertTrue(covers(extents, offset, WRITE_LENGTH), "no extent holds data at " + offset);
      }
      String fsType = Files.getFileStore(dir).type();
      if (HOLE_AWARE.contains(fsType)) {
        assertTrue(covered < SIZE / 4, fsType + " should report holes, yet data covers " + covered);
      } else {
        assertTrue(covered <= SIZE);
      }

      // Reading only the extents and taking zeros elsewhere gives the file back.
      byte[] rebuilt = new byte[(int) SIZE];
      for (Extent extent : extents) {
        ByteBuffer buffer = ByteBuffer.wrap(rebuilt, (int) extent.offset(), (int) extent.length());
        assertEquals(extent.length(), disk.read(buffer, extent.offset()));
      }
      assertArrayEquals(expected, rebuilt);
    }
  }

  private static boolean covers(List<Extent> extents, long offset, long length) {
    return extents.stream().anyMatch(e -> e.offset() <= offset && offset + length <= e.end());
  }

  @Test
  void aFileWithoutDataHasNoExtents() throws IOException {
    Path file = dir.resolve("holes.img");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(8L * MIB);
    }
    try (FileDisk disk = FileDisk.open(file)) {
      List<Extent> extents = disk.dataExtents();
      if (HOLE_AWARE.contains(Files.getFileStore(dir).type())) {
        assertEquals(List.of(), extents);
      }
    }
    Path empty = Files.createFile(dir.resolve("empty.img"));
    try (FileDisk disk = FileDisk.open(empty)) {
      assertEquals(0, disk.size());
      assertEquals(List.of(), disk.dataExtents());
    }
  }

  @Test
  void readStopsShortOnlyAtTheEnd() throws IOException {
    Path file = dir.resolve("small.img");
    byte[] content = new byte[10_000];
    new Random(3).nextBytes(content);
    Files.write(file, content);
    try (FileDisk disk = FileDisk.open(file)) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
      assertEquals(4096, disk.read(buffer, 0));
      buffer.clear();
      assertEquals(10_000 - 8192, disk.read(buffer, 8192));
      buffer.flip();
      byte[] tail = new byte[buffer.remaining()];
      buffer.get(tail);
      assertArrayEquals(java.util.Arrays.copyOfRange(content, 8192, 10_000), tail);
      buffer.clear();
      assertEquals(0, disk.read(buffer, 10_000));
      assertEquals(List.of(new Extent(0, 10_000)), disk.dataExtents());
    }
  }
}
