package dev.imprint.engine.source;

/** A byte range [offset, offset + length). */
public record Extent(long offset, long length) {
  public Extent {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative extent " + offset + "+" + length);
    }
  }

  public long end() {
    return offset + length;
  }
}
