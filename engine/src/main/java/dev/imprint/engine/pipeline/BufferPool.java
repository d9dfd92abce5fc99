package dev.imprint.engine.pipeline;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Reuses page-aligned direct buffers of one size. Streams bound how many are in flight, so the pool
 * stays as small as the pipeline's buffers; it never blocks, it allocates when empty.
 */
public final class BufferPool {
  private final int size;
  private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();

  public BufferPool(int size) {
    this.size = size;
  }

  public int bufferSize() {
    return size;
  }

  /** A cleared buffer of {@link #bufferSize()} bytes, 4096-aligned for O_DIRECT. */
  public ByteBuffer acquire() {
    ByteBuffer b = free.poll();
    if (b == null) {
      // alignedSlice also rounds the capacity down, so over-allocate by two pages.
      b = ByteBuffer.allocateDirect(size + 8192).alignedSlice(4096);
      b = b.limit(size).slice();
    }
    return b.clear();
  }

  public void release(ByteBuffer b) {
    if (b != null && b.capacity() == size) {
      free.offer(b);
    }
  }
}
