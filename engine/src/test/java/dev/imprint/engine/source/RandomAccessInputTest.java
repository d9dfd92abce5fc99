package dev.imprint.engine.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageDamagedException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one random-access type: positional reads, slices, and truncation as an error. */
class RandomAccessInputTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  private Path file(byte[] bytes) throws IOException {
    Path p = dir.resolve("disk.img");
    Files.write(p, bytes);
    return p;
  }

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(11).nextBytes(b);
    return b;
  }

  @Test
  void aSliceReadsItsWindowAndStopsAtItsEnd() throws IOException {
    byte[] data = random(4 * MIB);
    try (FileDisk disk = FileDisk.open(file(data))) {
      RandomAccessDisk part = disk.slice("partition 1 of disk.img", MIB, 2 * MIB);
      assertEquals(2 * MIB, part.size());
      assertEquals(512, part.sectorSize());
      ByteBuffer b = ByteBuffer.allocate(4096);
      part.readFully(b, 0);
      assertArrayEquals(Arrays.copyOfRange(data, MIB, MIB + 4096), b.array());
      // A read across the slice's end stops there, not at the disk's.
      ByteBuffer across = ByteBuffer.allocate(8192);
      assertEquals(4096, part.read(across, 2 * MIB - 4096));
      assertArrayEquals(
          Arrays.copyOfRange(data, 3 * MIB - 4096, 3 * MIB), Arrays.copyOf(across.array(), 4096));
      assertEquals(0, part.read(ByteBuffer.allocate(1), 2 * MIB));
      // A slice of a slice counts from its own start.
      RandomAccessDisk inner = part.slice("inner", 4096, 4096);
      ByteBuffer c = ByteBuffer.allocate(4096);
      inner.readFully(c, 0);
      assertArrayEquals(Arrays.copyOfRange(data, MIB + 4096, MIB + 8192), c.array());
      // Closing a slice leaves the disk open.
      part.close();
      assertEquals(4096, disk.read(ByteBuffer.allocate(4096), 0));
      assertThrows(IllegalArgumentException.class, () -> disk.slice("x", 3 * MIB, 2 * MIB));
    }
  }

  @Test
  void aSliceOfASparseFileKeepsOnlyItsHoles() throws IOException {
    Path p = dir.resolve("sparse.img");
    try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
      raf.setLength(16L * MIB);
      raf.seek(9L * MIB);
      raf.write(random(4096));
    }
    try (FileDisk disk = FileDisk.open(p)) {
      List<Extent> extents = disk.slice("part", 8L * MIB, 4L * MIB).dataExtents();
      long covered = extents.stream().mapToLong(Extent::length).sum();
      assertTrue(!extents.isEmpty() && covered <= 4L * MIB, extents.toString());
      for (Extent e : extents) {
        assertTrue(e.offset() >= 0 && e.end() <= 4L * MIB, extents.toString());
      }
      // The data at 9 MiB is 1 MiB into the slice.
      assertTrue(
          extents.stream().anyMatch(e -> e.offset() <= MIB && e.end() >= MIB + 4096),
          extents.toString());
    }
  }

  @Test
  void readingPastTheEndIsTruncationNamingTheBytes() throws IOException {
    try (FileDisk disk = FileDisk.open(file(random(1000)))) {
      TruncatedException e =
          assertThrows(
              TruncatedException.class, () -> disk.readFully(ByteBuffer.allocate(100), 950));
      assertEquals(
          disk.description()
              + " ends at byte 1000 in the middle of a read (bytes 950-1049): it is truncated",
          e.getMessage());
    }
  }

  @Test
  void anImageCutShortAfterOpeningIsDamage() throws Exception {
    var url = getClass().getClassLoader().getResource("golden/zstd-64k.imprint");
    assertTrue(url != null, "missing test resource golden/zstd-64k.imprint");
    Path p = dir.resolve("cut.imprint");
    Files.copy(Path.of(url.toURI()), p);
    try (FileDisk disk = FileDisk.open(p);
        Image image = Image.open(disk)) {
      int last = -1;
      var index = image.metadata().index();
      for (int i = 0; i < index.size(); i++) {
        if (index.get(i).storedLength() > 0) {
          last = i;
        }
      }
      assertTrue(last >= 0, "the golden image holds no data chunk");
      long cut = index.get(last).recordOffset() + 10;
      try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
        raf.setLength(cut);
      }
      int entry = last;
      ImageDamagedException e =
          assertThrows(ImageDamagedException.class, () -> image.readStored(entry, null));
      assertTrue(
          e.getMessage().startsWith(p + " ends at byte " + cut + " in the middle of a read"),
          e.getMessage());
      assertTrue(e.getMessage().endsWith("the image is truncated (copy it again)"), e.getMessage());
    }
  }
}
