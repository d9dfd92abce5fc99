package dev.imprint.engine.pipeline;

import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Reuses page-aligned direct buffers of one size. Streams bound how many are in flight; a limit
 * (from the {@link MemoryBudget}) bounds it for certain: at the limit, {@link #acquire} waits for a
 * release, so call it only from threads that may block. Without a limit it allocates when empty.
 */
public final class BufferPool {
  private final int size;
  private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
  private int limit;
  private int out;
  private volatile boolean closed;

  public BufferPool(int size) {
    this(size, Integer.MAX_VALUE);
  }

  /** A pool that never has more than {@code limit} buffers out at once (at least one). */
  public BufferPool(int size, int limit) {
    this.size = size;
    this.limit = Math.max(1, limit);
  }

  public int bufferSize() {
    return size;
  }

  /** Sets the most buffers out at once (at least one). */
  public synchronized void limit(int buffers) {
    limit = Math.max(1, buffers);
    notifyAll();
  }

  public synchronized int limit() {
    return limit;
  }

  /** Buffers handed out and not yet released. */
  public synchronized int out() {
    return out;
  }

  /**
   * A cleared buffer of {@link #bufferSize()} bytes, 4096-aligned for O_DIRECT. Waits while the
   * limit's worth of buffers is out.
   */
  public ByteBuffer acquire() {
    synchronized (this) {
      while (out >= limit) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new UncheckedIOException(
              new InterruptedIOException("interrupted waiting for a chunk buffer"));
        }
      }
      out++;
    }
    ByteBuffer b = free.poll();
    if (b == null) {
      try {
        // alignedSlice also rounds the capacity down, so over-allocate by two pages.
        b = ByteBuffer.allocateDirect(size + 8192).alignedSlice(4096);
      } catch (OutOfMemoryError e) {
        returned();
        throw e;
      }
      b = b.limit(size).slice();
    }
    return b.clear();
  }

  public void release(ByteBuffer b) {
    if (b != null && b.capacity() == size) {
      returned();
      if (!closed) {
        free.offer(b);
      }
    }
  }

  private synchronized void returned() {
    out = Math.max(0, out - 1);
    notifyAll();
  }

  /**
   * Keeps no more buffers: those free now and those released later are left to the garbage
   * collector, which the JDK runs when direct memory runs short. For a stage that is done, so the
   * next one (verification) has the memory.
   */
  public void close() {
    closed = true;
    free.clear();
  }

  /** {@code chunks}, closing this pool when they are all produced (or the stream fails). */
  public <T> Source<T, NotUsed> closingAfter(Source<T, NotUsed> chunks) {
    return chunks.watchTermination(
        (m, done) -> {
          done.whenComplete((d, e) -> close());
          return m;
        });
  }
}
