package dev.imprint.engine.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every reader decodes what qemu-img wrote to the same bytes as the raw disk it was made from. */
class ContainerReadersTest {
  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(ForeignImages.Kind.class)
  void decodesToTheRawDisk(ForeignImages.Kind kind) throws Exception {
    Root.assumeCommands("qemu-img");
    Path raw = ForeignImages.raw(dir, 42);
    Path img = ForeignImages.convert(raw, kind);
    try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
      assertEquals(kind.format(), disk.format().name());
      assertTrue(disk.size() >= ForeignImages.RAW_SIZE, "size " + disk.size());
      // Read in odd pieces from several threads at once, as a restore does.
      assertEquals(TestData.sha256(raw), sha256(disk, ForeignImages.RAW_SIZE, 1_000_000 + 512));
      checkExtents(disk, raw);
      disk.scan(done -> {});
      assertTrue(!disk.describe().isEmpty());
    }
  }

  @Test
  void whereNoFilesystemIsUnderstoodTheContainersUnallocatedRangesAreSkipped() throws Exception {
    Root.assumeCommands("qemu-img");
    Path raw = ForeignImages.raw(dir, 3);
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
      List<Extent> used = Containers.used(disk, null);
      long usedBytes = 0;
      for (Extent e : used) {
        usedBytes += e.length();
      }
      long[] kinds = Containers.bytesByKind(disk);
      assertTrue(kinds[ContainerExtent.Kind.UNALLOCATED.ordinal()] > 0, "qemu-img left holes");
      assertEquals(disk.size() - kinds[ContainerExtent.Kind.UNALLOCATED.ordinal()], usedBytes);
      // A filesystem's map, when there is one, decides alone.
      List<Extent> fs = List.of(new Extent(0, 4096));
      assertEquals(fs, Containers.used(disk, fs));
    }
  }

  /** Extents cover the disk in order, and ranges not called data read as zeros in the raw disk. */
  private static void checkExtents(ContainerDisk disk, Path raw) throws IOException {
    List<ContainerExtent> extents = disk.extents();
    long at = 0;
    byte[] raws = Files.readAllBytes(raw);
    for (ContainerExtent e : extents) {
      assertEquals(at, e.offset(), "extents have a gap or overlap at " + at);
      at = e.end();
      if (e.kind() != ContainerExtent.Kind.DATA) {
        for (long i = e.offset(); i < Math.min(e.end(), raws.length); i++) {
          if (raws[(int) i] != 0) {
            throw new AssertionError(e + " holds data at " + i);
          }
        }
      }
    }
    assertEquals(disk.size(), at);
  }

  /**
   * SHA-256 of the disk's first {@code length} bytes, read in pieces of {@code piece} by 4 threads.
   */
  static String sha256(ContainerDisk disk, long length, int piece) throws Exception {
    int n = (int) ((length + piece - 1) / piece);
    ByteBuffer[] parts = new ByteBuffer[n];
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      Future<?>[] fs = new Future<?>[n];
      for (int i = 0; i < n; i++) {
        int k = i;
        fs[i] =
            pool.submit(
                () -> {
                  long off = (long) k * piece;
                  ByteBuffer b = ByteBuffer.allocateDirect((int) Math.min(piece, length - off));
                  disk.read(b, off);
                  parts[k] = b.flip();
                  return null;
                });
      }
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (int i = 0; i < n; i++) {
        fs[i].get();
        md.update(parts[i]);
      }
      return HexFormat.of().formatHex(md.digest());
    } finally {
      pool.shutdownNow();
    }
  }
}
