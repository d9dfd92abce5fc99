package dev.imprint.engine.container.sparse;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerExtent;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.TruncatedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.zip.CRC32;

/** The disk an Android sparse image holds, read at any offset through its chunk index. */
final class SparseDisk implements ContainerDisk {
  private static final ContainerFormat FORMAT = new AndroidSparse();
  private static final int SCAN_BUFFER = 1 << 20;

  private final RandomAccessInput in;
  private final SparseIndex index;
  private final String version;
  private final int imageCrc;
  private final List<ContainerExtent> extents;

  SparseDisk(RandomAccessInput in, SparseIndex index, String version, int imageCrc) {
    this.in = in;
    this.index = index;
    this.version = version;
    this.imageCrc = imageCrc;
    this.extents = List.copyOf(index.extents());
  }

  @Override
  public ContainerFormat format() {
    return FORMAT;
  }

  @Override
  public List<ContainerExtent> extents() {
    return extents;
  }

  @Override
  public Map<String, String> describe() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("version", version);
    d.put("block size", Integer.toString(index.blockSize()));
    d.put("blocks", Long.toString(index.size() / index.blockSize()));
    d.put(
        "chunks",
        index.count(AndroidSparse.RAW)
            + " raw, "
            + index.count(AndroidSparse.FILL)
            + " fill, "
            + index.count(AndroidSparse.DONT_CARE)
            + " don't care, "
            + index.crcAt().length
            + " CRC32");
    d.put("image CRC32", imageCrc == 0 ? "none" : String.format("%08x", imageCrc));
    return d;
  }

  @Override
  public String description() {
    return in.description();
  }

  @Override
  public long size() {
    return index.size();
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    if (position < 0 || position >= size()) {
      return 0;
    }
    int want = (int) Math.min(dst.remaining(), size() - position);
    int done = 0;
    while (done < want) {
      long at = position + done;
      int i = index.find(at);
      int n = (int) Math.min(want - done, index.end(i) - at);
      int limit = dst.limit();
      dst.limit(dst.position() + n);
      try {
        fill(i, at, dst);
      } finally {
        dst.limit(limit);
      }
      done += n;
    }
    return done;
  }

  /** Fills dst (to its limit) with chunk {@code i}'s bytes from disk offset {@code at}. */
  private void fill(int i, long at, ByteBuffer dst) throws IOException {
    long into = at - index.start()[i];
    switch (index.type()[i]) {
      case AndroidSparse.RAW -> {
        try {
          in.readFully(dst, index.value()[i] + into);
        } catch (TruncatedException e) {
          throw new ImageDamagedException(
              e.message("the sparse image is truncated (copy it again)"));
        }
      }
      case AndroidSparse.FILL -> {
        int pattern = (int) index.value()[i];
        // Little-endian as stored: byte k of the pattern lands at chunk offsets k, k+4, …
        int phase = (int) (into & 3);
        while (dst.hasRemaining() && phase != 0) {
          dst.put((byte) (pattern >>> (8 * phase)));
          phase = (phase + 1) & 3;
        }
        ByteBuffer words = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (words.remaining() >= 4) {
          words.putInt(pattern);
        }
        for (int k = 0; words.hasRemaining(); k++) {
          words.put((byte) (pattern >>> (8 * k)));
        }
        dst.position(words.position());
      }
      default -> {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
      }
    }
  }

  @Override
  public void scan(LongConsumer progress) throws IOException {
    long[] crcAt = index.crcAt();
    if (crcAt.length == 0 && imageCrc == 0) {
      // No checksum to compute; the tables were checked when opened and the raw data is there.
      progress.accept(size());
      return;
    }
    CRC32 crc = new CRC32();
    ByteBuffer b = ByteBuffer.allocateDirect(SCAN_BUFFER);
    int next = 0;
    long at = 0;
    while (true) {
      while (next < crcAt.length && crcAt[next] == at) {
        check(
            crc, index.crcValue()[next], "CRC32 chunk " + next + " (covering bytes 0-" + at + ")");
        next++;
      }
      if (at >= size()) {
        break;
      }
      long stop = next < crcAt.length ? crcAt[next] : size();
      b.clear().limit((int) Math.min(SCAN_BUFFER, stop - at));
      read(b, at);
      b.flip();
      crc.update(b);
      at += b.limit();
      progress.accept(at);
    }
    if (imageCrc != 0) {
      check(crc, imageCrc, "the image CRC32 in its header");
    }
  }

  private void check(CRC32 crc, int expected, String what) throws ImageDamagedException {
    int got = (int) crc.getValue();
    if (got != expected) {
      throw new ImageDamagedException(
          in.description()
              + ": "
              + what
              + " is "
              + String.format("%08x", expected)
              + " but the data gives "
              + String.format("%08x", got)
              + ": the sparse image is damaged (copy it again)");
    }
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
