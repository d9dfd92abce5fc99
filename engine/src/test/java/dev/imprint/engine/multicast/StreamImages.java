package dev.imprint.engine.multicast;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.ImageWriter;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.source.FileDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Random;

/**
 * Real Imprint images for the multicast tests: chunks of random bytes (stored raw), of text (zstd)
 * and of zeros (zero ranges), so stored lengths vary and symbols straddle chunks.
 */
final class StreamImages {
  private StreamImages() {}

  /** The disk's bytes; chunk i is random, text or zeros by i mod 3. */
  static byte[] disk(int size, int chunk, long seed) {
    byte[] d = new byte[size];
    Random r = new Random(seed);
    byte[] text = "multicast carousel with reed-solomon parity\n".repeat(1 + chunk / 40).getBytes();
    for (int off = 0, i = 0; off < size; off += chunk, i++) {
      int n = Math.min(chunk, size - off);
      switch (i % 3) {
        case 0 -> {
          byte[] b = new byte[n];
          r.nextBytes(b);
          System.arraycopy(b, 0, d, off, n);
        }
        case 1 -> {
          System.arraycopy(text, r.nextInt(40), d, off, n);
          d[off] = (byte) i; // no two text chunks alike
        }
        default -> {}
      }
    }
    return d;
  }

  /** A disk of random bytes only: every chunk is stored raw, as large as it gets. */
  static byte[] random(int size, long seed) {
    byte[] d = new byte[size];
    new Random(seed).nextBytes(d);
    return d;
  }

  /** Writes {@code disk} as an image of {@code chunk}-byte chunks at {@code out}. */
  static Path write(Path out, byte[] disk, int chunk) throws IOException {
    ImageHeader h =
        new ImageHeader(
            1,
            0,
            disk.length,
            512,
            chunk,
            ImageKind.DEVICE,
            Codec.ZSTD,
            PartitionScheme.NONE,
            Instant.now(),
            "test",
            "memory",
            List.of());
    try (ImageWriter w = ImageWriter.create(out, h)) {
      for (int off = 0; off < disk.length; off += chunk) {
        int n = Math.min(chunk, disk.length - off);
        ByteBuffer raw = ByteBuffer.allocateDirect(n).put(disk, off, n).flip();
        boolean zero = true;
        for (int i = off; i < off + n && zero; i++) {
          zero = disk[i] == 0;
        }
        if (zero) {
          w.zero(off, n);
          continue;
        }
        byte[] sha = Sha256.of(raw.duplicate());
        ByteBuffer dst = ByteBuffer.allocateDirect(Codec.ZSTD.maxCompressedLength(n));
        int len = Codec.ZSTD.compress(raw.duplicate(), dst, 3);
        if (len < n) {
          w.data(off, n, Codec.ZSTD, sha, dst.position(0).limit(len));
        } else {
          w.data(off, n, Codec.NONE, sha, raw.duplicate());
        }
      }
      w.finish(List.of(), null);
    }
    return out;
  }

  static Image open(Path image) throws IOException {
    return Image.open(FileDisk.open(image));
  }

  /** A sink that writes verified chunks into a disk-sized array and counts each chunk once. */
  static final class Collector implements Reception.ChunkSink {
    final byte[] disk;
    final java.util.concurrent.ConcurrentHashMap<Integer, Integer> seen =
        new java.util.concurrent.ConcurrentHashMap<>();

    Collector(int size) {
      disk = new byte[size];
    }

    @Override
    public void chunk(int entryNumber, IndexEntry entry, ByteBuffer decoded) {
      seen.merge(entryNumber, 1, Integer::sum);
      decoded.get(disk, (int) entry.logicalOffset(), decoded.remaining());
    }
  }
}
