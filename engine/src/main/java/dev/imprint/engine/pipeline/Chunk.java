package dev.imprint.engine.pipeline;

import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.RangeKind;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one thing the restore pipeline passes along: a logical range of the disk, what it holds, and
 * for data the decoded bytes and their xxHash64 (what verification compares the read-back against).
 * Data buffers are shared read-only by every target and go back to their pool when the last target
 * has released them.
 */
public class Chunk {
  private final long offset;
  private final long length;
  private final RangeKind kind;
  private final ByteBuffer data;
  private final long xxh64;
  private final BufferPool pool;
  private final AtomicInteger refs = new AtomicInteger(1);

  private Chunk(
      long offset, long length, RangeKind kind, ByteBuffer data, long xxh64, BufferPool pool) {
    this.offset = offset;
    this.length = length;
    this.kind = kind;
    this.data = data;
    this.xxh64 = xxh64;
    this.pool = pool;
  }

  public static Chunk data(long offset, ByteBuffer data, long xxh64, BufferPool pool) {
    return new Chunk(offset, data.remaining(), RangeKind.DATA, data, xxh64, pool);
  }

  /**
   * Data whose buffer is not the job's own (a decode shared with other jobs): {@code released} runs
   * once, when the last holder has released the chunk.
   */
  static Chunk shared(long offset, ByteBuffer data, long xxh64, Runnable released) {
    return new Chunk(offset, data.remaining(), RangeKind.DATA, data, xxh64, null) {
      @Override
      public void release() {
        if (decrement()) {
          released.run();
        }
      }
    };
  }

  public static Chunk empty(long offset, long length, RangeKind kind) {
    return new Chunk(offset, length, kind, null, 0, null);
  }

  public long offset() {
    return offset;
  }

  public long length() {
    return length;
  }

  public long end() {
    return offset + length;
  }

  public RangeKind kind() {
    return kind;
  }

  public long xxh64() {
    return xxh64;
  }

  /** A private read-only view of the bytes (position 0, limit length). */
  public ByteBuffer view() {
    return data.asReadOnlyBuffer();
  }

  /** The bytes for a writer that needs a direct, aligned buffer (do not modify). */
  public ByteBuffer writableView() {
    return data.duplicate();
  }

  public Range range() {
    return new Range(offset, length, kind, xxh64, null);
  }

  /**
   * The part [from, to) of this chunk (disk offsets), placed at {@code newOffset}: how one volume
   * is cut out of a whole-device image. Takes over this chunk's reference.
   */
  public Chunk slice(long from, long to, long newOffset) {
    if (kind != RangeKind.DATA) {
      return empty(newOffset, to - from, kind);
    }
    ByteBuffer part =
        data.duplicate().position((int) (from - offset)).limit((int) (to - offset)).slice();
    Chunk parent = this;
    return new Chunk(newOffset, to - from, kind, part, Xxh64.of(part), null) {
      @Override
      public void release() {
        if (decrement()) {
          parent.release();
        }
      }
    };
  }

  /** Drops one holder; true when none is left. */
  boolean decrement() {
    return refs.decrementAndGet() == 0;
  }

  /** Adds {@code n} holders (one per extra target). */
  public Chunk retain(int n) {
    refs.addAndGet(n);
    return this;
  }

  public void release() {
    if (decrement() && pool != null) {
      pool.release(data);
    }
  }

  /**
   * What verification needs to know about a chunk once its bytes are gone: the xxHash64 of the
   * bytes written or, when checking a disk restored earlier, the image's SHA-256.
   */
  public record Range(long offset, long length, RangeKind kind, long xxh64, byte[] sha256) {
    public long end() {
      return offset + length;
    }
  }
}
