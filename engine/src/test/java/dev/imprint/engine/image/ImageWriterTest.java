package dev.imprint.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer gathers bytes in a buffer and writes whole blocks (O_DIRECT where the filesystem has
 * it): images larger than that buffer, of a length that is no multiple of a block, and a header
 * rewritten at the end (a pipe's size) must still come out byte for byte.
 */
class ImageWriterTest {
  static final int CS = 1 << 20;

  @TempDir Path dir;

  @Test
  void imageLargerThanTheWriteBufferWithItsSizeKnownOnlyAtTheEnd() throws IOException {
    writeAndReadBack(dir);
  }

  /** ramfs refuses O_DIRECT: the writer falls back to the page cache and writes the same image. */
  @Test
  void filesystemWithoutDirectIo() throws IOException {
    Root.assumeRoot();
    Root.assumeCommands("mount", "umount");
    Path mnt = Files.createDirectory(dir.resolve("ramfs"));
    Cmd.run("mount", "-t", "ramfs", "ramfs", mnt.toString());
    try {
      writeAndReadBack(mnt);
    } finally {
      Cmd.run("umount", mnt.toString());
    }
  }

  private static void writeAndReadBack(Path dir) throws IOException {
    Path p = dir.resolve("big.imprint");
    // Unknown size: the header says 0 and is rewritten by finish, after 8 MiB have been written.
    ImageHeader h =
        new ImageHeader(
            ImageHeader.MAJOR,
            ImageHeader.MINOR,
            0,
            512,
            CS,
            ImageKind.DEVICE,
            Codec.NONE,
            PartitionScheme.NONE,
            Instant.ofEpochMilli(1_700_000_000_000L),
            "test",
            "a pipe",
            List.of());
    Random r = new Random(3);
    List<byte[]> data = new ArrayList<>();
    long off = 0;
    try (ImageWriter w = ImageWriter.create(p, h)) {
      for (int i = 0; i < 21; i++) {
        if (i % 5 == 4) {
          w.zero(off, CS);
          off += CS;
          continue;
        }
        // Whole chunks (the last one short) that compress to odd lengths put every later record
        // at an unaligned file offset.
        int len = i == 20 ? 12_345 : CS;
        byte[] b = new byte[len];
        r.nextBytes(b);
        java.util.Arrays.fill(b, 0, Math.min(len, 1000 + 4099 * i), (byte) 0);
        byte[] stored = com.github.luben.zstd.Zstd.compress(b, 3);
        data.add(stored);
        w.data(off, len, Codec.ZSTD, Sha256.of(ByteBuffer.wrap(b)), ByteBuffer.wrap(stored));
        off += len;
      }
      w.finish(List.of(), null);
    }
    assertEquals(List.of(), leftovers(dir), "no temporary file is left");
    try (InputStream in = Files.newInputStream(p)) {
      ImageStream s = new ImageStream(in, "test");
      assertEquals(off, s.header().logicalSize());
      int n = 0;
      ImageStream.StoredRecord rec;
      while ((rec = s.next(ByteBuffer::allocate)) != null) {
        if (rec.entry().kind() == RangeKind.DATA) {
          byte[] got = new byte[rec.payload().remaining()];
          rec.payload().get(got);
          assertArrayEquals(data.get(n++), got);
        }
      }
      assertEquals(data.size(), n);
      // The stream reader also checked the trailer: the file ends exactly where it should.
      assertEquals(off, s.metadata().header().logicalSize());
    }
    try (Image image = Image.open(FileDisk.open(p))) {
      assertEquals(off, image.header().logicalSize());
      assertEquals(21, image.metadata().index().size());
    }
  }

  private static List<Path> leftovers(Path dir) throws IOException {
    try (var files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().contains(".partial-")).toList();
    }
  }
}
