package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.filesystem.Filesystems.Analysis;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.FileDisk;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Builds populated images and the key check: garbage outside the map must not matter. */
final class FsImages {
  private FsImages() {}

  /** An empty (sparse) file of {@code size} bytes. */
  static Path blank(Path path, long size) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
      f.setLength(size);
    }
    return path;
  }

  /**
   * A small tree of files: text, random data of awkward sizes, a multi-megabyte file, a nested one.
   * Keys are paths relative to {@code dir}, with '/'.
   */
  static Map<String, byte[]> populate(Path dir) throws IOException {
    Random random = new Random(42);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("readme.txt", "hello, imprint\n".getBytes());
    files.put("small.bin", bytes(random, 4097));
    files.put("medium.bin", bytes(random, 300_001));
    files.put("big.bin", bytes(random, 3 << 20));
    files.put("sub/nested.bin", bytes(random, 70_000));
    files.put("sub/deeper/last.txt", "the end\n".getBytes());
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      Path p = dir.resolve(e.getKey());
      Files.createDirectories(p.getParent());
      Files.write(p, e.getValue());
    }
    return files;
  }

  /** {@code n} bytes from {@code random}. */
  static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  static Analysis analyze(Path image) throws IOException {
    try (FileDisk disk = FileDisk.open(image)) {
      return Filesystems.analyze(disk, 0, disk.size());
    }
  }

  /** Analyses {@code image} and requires a map. */
  static AllocationMap map(Path image) throws IOException {
    Analysis a = analyze(image);
    assertTrue(a.map().isPresent(), "no map: " + a.note());
    AllocationMap map = a.map().get();
    long prevEnd = -1;
    for (Extent e : map.used()) {
      assertTrue(e.length() > 0 && e.offset() > prevEnd, "ranges sorted and merged: " + e);
      prevEnd = e.end();
    }
    assertTrue(prevEnd <= map.volumeLength(), "ranges inside the volume");
    return map;
  }

  /**
   * A copy of {@code image} with every byte outside the map's used ranges overwritten with random
   * garbage: what a restore that skips unused ranges may leave on a dirty target.
   */
  static Path scramble(Path image, AllocationMap map, Path out) throws IOException {
    Files.copy(image, out, StandardCopyOption.REPLACE_EXISTING);
    Random random = new Random(7);
    byte[] garbage = new byte[1 << 20];
    random.nextBytes(garbage);
    try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE)) {
      long pos = 0;
      for (Extent e : map.used()) {
        fill(ch, pos, e.offset(), garbage, random);
        pos = e.end();
      }
      fill(ch, pos, map.volumeLength(), garbage, random);
    }
    return out;
  }

  private static void fill(FileChannel ch, long from, long to, byte[] garbage, Random random)
      throws IOException {
    while (from < to) {
      int n = (int) Math.min(garbage.length, to - from);
      int start = random.nextInt(garbage.length - n + 1);
      ByteBuffer b = ByteBuffer.wrap(garbage, start, n);
      while (b.hasRemaining()) {
        from += ch.write(b, from);
      }
    }
  }

  /** Damages one byte: XORs it with 0x5a. */
  static void flip(Path image, long at) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x5a);
    }
  }

  /** A mostly empty filesystem must not map as "everything". */
  static void assertSparse(AllocationMap map, double maxFraction) {
    double fraction = (double) map.usedBytes() / map.volumeLength();
    assertTrue(
        fraction < maxFraction,
        map.how() + ": " + map.usedBytes() + " of " + map.volumeLength() + " bytes used");
  }
}
