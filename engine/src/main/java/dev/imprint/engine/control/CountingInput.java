package dev.imprint.engine.control;

import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/** An input that counts the bytes read through it (the image over the control channel). */
public final class CountingInput implements RandomAccessInput {
  private final RandomAccessInput in;
  private final AtomicLong read = new AtomicLong();
  private volatile java.io.Closeable also;

  public CountingInput(RandomAccessInput in) {
    this.in = in;
  }

  /** Closes {@code c} (first) when this input is closed. */
  public void alsoClosing(java.io.Closeable c) {
    also = c;
  }

  public long bytesRead() {
    return read.get();
  }

  @Override
  public long size() {
    return in.size();
  }

  @Override
  public String description() {
    return in.description();
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    int n = in.read(dst, position);
    if (n > 0) {
      read.addAndGet(n);
    }
    return n;
  }

  @Override
  public void close() throws IOException {
    try {
      if (also != null) {
        also.close();
      }
    } finally {
      in.close();
    }
  }
}
