package dev.imprint.engine.pipeline;

import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.stream.IntStream;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Chunks of an Imprint image read at random: index entries are fetched and decoded side by side and
 * come out in whatever order they finish.
 */
public final class ImageChunks implements ChunkSupply {
  private final Image image;
  private final BufferPool pool;

  /**
   * Buffers for stored (compressed) chunks, shared by every image of the process: each job's decode
   * threads are its own, and direct buffers left to them would stay allocated until the heap is
   * collected. A few are kept free for the next decode.
   */
  private static final java.util.concurrent.ConcurrentLinkedQueue<ByteBuffer> SCRATCH =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private static final int SCRATCH_KEPT = 8;

  private final long windowOffset;
  private final long windowLength;

  public ImageChunks(Image image) {
    this(image, 0, image.header().logicalSize());
  }

  /**
   * One volume cut out of a whole-device image: the chunks of [offset, offset + length), moved to
   * start at 0.
   */
  public ImageChunks(Image image, long offset, long length) {
    this.image = image;
    this.pool = new BufferPool(image.header().chunkSize());
    this.windowOffset = offset;
    this.windowLength = length;
    // Whole images are shared with other readers of the same file open at the same time. The
    // file's name is part of the key: a damaged copy of an image must not borrow the good copy's
    // chunks and be reported sound.
    this.shareKey =
        whole()
            ? image.description()
                + "\0"
                + java.util.HexFormat.of().formatHex(image.metadata().digest())
            : null;
    if (shareKey != null) {
      SharedDecodes.INSTANCE.open(shareKey);
    }
  }

  private final String shareKey;
  private final java.util.concurrent.atomic.AtomicBoolean closed =
      new java.util.concurrent.atomic.AtomicBoolean();

  private boolean whole() {
    return windowOffset == 0 && windowLength == image.header().logicalSize();
  }

  public Image image() {
    return image;
  }

  @Override
  public String description() {
    return image.description();
  }

  @Override
  public long logicalSize() {
    return windowLength;
  }

  @Override
  public int chunkSize() {
    return image.header().chunkSize();
  }

  @Override
  public long dataBytes() {
    long n = 0;
    for (IndexEntry e : image.metadata().index()) {
      if (e.kind() == RangeKind.DATA) {
        n += overlap(e);
      }
    }
    return n;
  }

  private long overlap(IndexEntry e) {
    return Math.max(
        0,
        Math.min(e.logicalEnd(), windowOffset + windowLength)
            - Math.max(e.logicalOffset(), windowOffset));
  }

  @Override
  public void limitBuffers(int buffers) {
    pool.limit(buffers);
  }

  /** Data chunks decoded by every image in this process: how a station shares its decoding. */
  private static final java.util.concurrent.atomic.LongAdder DECODED =
      new java.util.concurrent.atomic.LongAdder();

  public static long decodedChunks() {
    return DECODED.sum();
  }

  @Override
  public Source<Chunk, NotUsed> chunks(int parallelism, Executor cpu) {
    List<IndexEntry> index = image.metadata().index();
    return pool.closingAfter(
        Source.fromIterator(() -> IntStream.range(0, index.size()).iterator())
            .filter(i -> overlap(index.get(i)) > 0)
            .mapAsyncUnordered(
                parallelism,
                i -> CompletableFuture.supplyAsync(() -> window(load(i, index.get(i))), cpu)));
  }

  private Chunk window(Chunk c) {
    if (whole()) {
      return c;
    }
    long from = Math.max(c.offset(), windowOffset);
    long to = Math.min(c.end(), windowOffset + windowLength);
    return c.slice(from, to, from - windowOffset);
  }

  private Chunk load(int i, IndexEntry e) {
    if (e.kind() != RangeKind.DATA) {
      return Chunk.empty(e.logicalOffset(), e.logicalLength(), e.kind());
    }
    // A reservation first, as a buffer of our own would be: the pace of this job stays its own.
    pool.reserve();
    SharedDecodes.Hold hold;
    try {
      hold = shareKey == null ? null : SharedDecodes.INSTANCE.claim(shareKey, i);
    } catch (RuntimeException ex) {
      pool.unreserve();
      throw ex;
    }
    if (hold != null && !hold.decodes()) {
      SharedDecodes.Decoded d = hold.await();
      if (d != null) {
        return held(e, d.bytes().duplicate(), d.xxh(), hold);
      }
      hold.release(); // the decode failed or is late: decode it ourselves, and keep it
      hold = null;
    }
    ByteBuffer out = null;
    try {
      out = pool.fill();
      ByteBuffer s = image.readStored(i, SCRATCH.poll());
      try {
        out.limit((int) e.logicalLength());
        long chunkNumber = e.logicalOffset() / image.header().chunkSize();
        Image.decode(e, chunkNumber, s, out, image.description());
      } finally {
        if (SCRATCH.size() < SCRATCH_KEPT) {
          SCRATCH.offer(s);
        }
      }
      DECODED.increment();
      out.flip();
      // A chunk cut to a volume is hashed as the slice it becomes, not twice.
      long xxh = whole() ? Xxh64.of(out) : 0;
      if (hold != null) {
        hold.offer(out, xxh);
        return held(e, out.duplicate(), xxh, hold);
      }
      return Chunk.data(e.logicalOffset(), out, xxh, pool);
    } catch (IOException | RuntimeException ex) {
      if (out != null) {
        pool.release(out);
      } else {
        pool.unreserve();
      }
      if (hold != null) {
        hold.withdraw(ex);
      }
      throw ex instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) ex;
    }
  }

  /** A chunk in a shared decode's buffer: this job's reservation and hold go when it is written. */
  private Chunk held(IndexEntry e, ByteBuffer bytes, long xxh, SharedDecodes.Hold hold) {
    return Chunk.shared(
        e.logicalOffset(),
        bytes,
        xxh,
        () -> {
          pool.unreserve();
          hold.release();
        });
  }

  @Override
  public void close() throws IOException {
    if (shareKey != null && closed.compareAndSet(false, true)) {
      SharedDecodes.INSTANCE.close(shareKey);
    }
    image.close();
  }
}
