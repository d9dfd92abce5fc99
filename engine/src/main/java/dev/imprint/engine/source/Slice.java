package dev.imprint.engine.source;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A window of a {@link RandomAccessInput}; see {@link RandomAccessInput#slice}. */
class Slice implements RandomAccessInput {
  private final RandomAccessInput whole;
  private final String description;
  final long offset;
  private final long length;

  Slice(RandomAccessInput whole, String description, long offset, long length) {
    if (offset < 0 || length < 0 || offset > whole.size() - length) {
      throw new IllegalArgumentException(
          "slice "
              + offset
              + "+"
              + length
              + " does not lie inside "
              + whole.description()
              + " ("
              + whole.size()
              + " bytes)");
    }
    this.whole = whole;
    this.description = description;
    this.offset = offset;
    this.length = length;
  }

  RandomAccessInput whole() {
    return whole;
  }

  @Override
  public long size() {
    return length;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    if (position < 0 || position >= length) {
      return 0;
    }
    int limit = dst.limit();
    if (dst.remaining() > length - position) {
      dst.limit(dst.position() + (int) (length - position));
    }
    try {
      return whole.read(dst, offset + position);
    } finally {
      dst.limit(limit);
    }
  }

  @Override
  public RandomAccessInput slice(String description, long offset, long length) {
    // A slice of a slice reads the whole directly: no chain of forwarding.
    checkInside(offset, length);
    return whole.slice(description, this.offset + offset, length);
  }

  void checkInside(long offset, long length) {
    if (offset < 0 || length < 0 || offset > this.length - length) {
      throw new IllegalArgumentException(
          "slice " + offset + "+" + length + " does not lie inside " + description);
    }
  }

  /** The whole input belongs to whoever opened it. */
  @Override
  public void close() {}
}
