package dev.imprint.engine.container;

import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.TruncatedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * A container's disk read through its {@link BlockMap}: stored runs straight into the caller's
 * buffer (one read per run, however many blocks), neighbouring compressed blocks fetched together
 * and decoded one by one, zeros without touching the file. Nothing is cached between reads, so
 * memory stays bounded whatever the number of threads and the size of the disk.
 */
public abstract class BlockMappedDisk implements ContainerDisk {
  /** Compressed blocks this close together in the file are fetched in one read. */
  private static final int GAP = 64 << 10;

  /** The most bytes fetched in one read of compressed blocks. */
  private static final int MAX_FETCH = 8 << 20;

  private static final int SCAN_PIECE = 4 << 20;

  private static final byte[] ZEROS = new byte[64 << 10];

  private final ContainerFormat format;
  protected final RandomAccessInput in;
  protected final BlockMap map;
  private final List<ContainerExtent> extents;

  protected BlockMappedDisk(ContainerFormat format, RandomAccessInput in, BlockMap map) {
    this.format = format;
    this.in = in;
    this.map = map;
    this.extents = map.extents();
  }

  @Override
  public ContainerFormat format() {
    return format;
  }

  /** Whether {@code in} holds {@code magic} at {@code at}; false when it is too short to. */
  public static boolean hasMagic(RandomAccessInput in, long at, byte[] magic) throws IOException {
    if (at < 0 || at > in.size() - magic.length) {
      return false;
    }
    ByteBuffer b = ByteBuffer.allocate(magic.length);
    in.readFully(b, at);
    return java.util.Arrays.equals(b.array(), magic);
  }

  /**
   * One of a container's tables, read when it is opened (big-endian until the caller says
   * otherwise); a file that ends first is a truncated image.
   */
  public static ByteBuffer readTable(RandomAccessInput in, long offset, int length, String where)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    try {
      in.readFully(b, offset);
    } catch (TruncatedException e) {
      throw new ImageDamagedException(
          where
              + ": the file ends at byte "
              + in.size()
              + ", before its table at byte "
              + offset
              + " ends: the image is truncated (copy it again)");
    }
    return b;
  }

  /** Decodes compressed blocks for one read; closed when the read ends. */
  protected interface Decoder extends AutoCloseable {
    /**
     * Decodes one block stored at {@code src[off, off + len)} into all of {@code out}.
     *
     * @param diskOffset where the block is on the disk, for messages
     * @throws ImageDamagedException it does not decode to exactly one block
     */
    void decode(byte[] src, int off, int len, byte[] out, long diskOffset) throws IOException;

    @Override
    void close();
  }

  /** A decoder for this container's compressed blocks; only called when it has some. */
  protected Decoder decoder() {
    throw new UnsupportedOperationException(format().name() + " has no compressed blocks");
  }

  /** The container in messages: "qcow2 image disk.qcow2". */
  protected String where() {
    return format().name() + " image " + in.description();
  }

  @Override
  public String description() {
    return in.description();
  }

  @Override
  public long size() {
    return map.diskSize();
  }

  @Override
  public List<ContainerExtent> extents() {
    return extents;
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    long size = size();
    if (position < 0 || position >= size || !dst.hasRemaining()) {
      return 0;
    }
    int want = (int) Math.min(dst.remaining(), size - position);
    int start = dst.position();
    int limit = dst.limit();
    int bs = map.blockSize();
    Decoder decoder = null;
    byte[] block = null;
    try {
      long pos = position;
      long end = position + want;
      while (pos < end) {
        int r = map.runAt(pos / bs);
        long runEnd = Math.min(end, map.end(r) * bs);
        int n = (int) (runEnd - pos);
        int at = start + (int) (pos - position);
        switch (map.kind(r)) {
          case ZERO, UNALLOCATED -> zero(dst, at, n);
          case STORED -> {
            long host = map.host(r) + (pos - map.first(r) * bs);
            dst.limit(at + n).position(at);
            readStored(dst, host, pos);
            dst.limit(limit);
          }
          case COMPRESSED -> {
            if (decoder == null) {
              decoder = decoder();
              block = new byte[bs];
            }
            runEnd = readCompressed(dst, start, position, pos, end, r, decoder, block);
          }
        }
        pos = runEnd;
      }
    } finally {
      if (decoder != null) {
        decoder.close();
      }
      dst.limit(limit);
    }
    dst.position(start + want);
    return want;
  }

  private void readStored(ByteBuffer dst, long host, long diskOffset) throws IOException {
    try {
      in.readFully(dst, host);
    } catch (TruncatedException e) {
      throw new ImageDamagedException(
          where()
              + ": the data of disk offset "
              + diskOffset
              + " is missing from the file (it ends at byte "
              + in.size()
              + "): the image is truncated (copy it again)");
    }
  }

  /**
   * Reads the compressed block of run {@code r} and those right after it in the file and on the
   * disk, in one fetch; returns the disk offset where it stopped.
   */
  private long readCompressed(
      ByteBuffer dst,
      int start,
      long position,
      long pos,
      long end,
      int r,
      Decoder decoder,
      byte[] block)
      throws IOException {
    int bs = map.blockSize();
    long fetchStart = map.host(r);
    long fetchEnd = Math.min(in.size(), fetchStart + map.stored(r));
    int last = r;
    while (last + 1 < map.runs()
        && map.kind(last + 1) == BlockMap.Kind.COMPRESSED
        && map.first(last + 1) * bs < end) {
      long h = map.host(last + 1);
      long e = Math.min(in.size(), h + map.stored(last + 1));
      if (h < fetchStart || h > fetchEnd + GAP || e - fetchStart > MAX_FETCH) {
        break;
      }
      fetchEnd = Math.max(fetchEnd, e);
      last++;
    }
    byte[] src = new byte[(int) (fetchEnd - fetchStart)];
    in.readFully(ByteBuffer.wrap(src), fetchStart);
    for (int k = r; k <= last; k++) {
      long blockStart = map.first(k) * bs;
      int off = (int) (map.host(k) - fetchStart);
      int len = (int) Math.min(map.stored(k), src.length - off);
      decoder.decode(src, off, len, block, blockStart);
      long from = Math.max(pos, blockStart);
      long to = Math.min(end, Math.min(blockStart + bs, size()));
      dst.put(start + (int) (from - position), block, (int) (from - blockStart), (int) (to - from));
      pos = to;
    }
    return pos;
  }

  private static void zero(ByteBuffer dst, int at, int n) {
    for (int done = 0; done < n; done += ZEROS.length) {
      dst.put(at + done, ZEROS, 0, Math.min(ZEROS.length, n - done));
    }
  }

  /**
   * Reads every data block, which decodes each compressed one and reads each stored one to the end
   * of the file. Formats with checksums of their own check them in {@code open}; what is left to
   * find here is data that does not decode or is missing.
   */
  @Override
  public void scan(LongConsumer progress) throws IOException {
    ByteBuffer piece = ByteBuffer.allocate(SCAN_PIECE);
    for (ContainerExtent e : extents) {
      if (e.kind() != ContainerExtent.Kind.DATA) {
        progress.accept(e.end());
        continue;
      }
      for (long at = e.offset(); at < e.end(); at += SCAN_PIECE) {
        piece.clear().limit((int) Math.min(SCAN_PIECE, e.end() - at));
        read(piece, at);
        progress.accept(at + piece.limit());
      }
    }
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  /** "64 KiB", "2 MiB": block sizes for {@link #describe}. */
  protected static String binary(long bytes) {
    if (bytes >= (1L << 20) && bytes % (1L << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    if (bytes >= 1024 && bytes % 1024 == 0) {
      return (bytes >> 10) + " KiB";
    }
    return bytes + " bytes";
  }
}
