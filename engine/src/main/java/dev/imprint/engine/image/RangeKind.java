package dev.imprint.engine.image;

/** What a logical byte range of the image holds. */
public enum RangeKind {
  /** Stored bytes, one chunk per entry. */
  DATA(1),
  /** Must read back as zeros on the target; stores nothing. */
  ZERO(2),
  /** The filesystem does not use it: content does not matter; stores nothing. */
  UNALLOCATED(3);

  public final int id;

  RangeKind(int id) {
    this.id = id;
  }

  static RangeKind of(int id) throws ImageFormatException {
    for (RangeKind k : values()) {
      if (k.id == id) {
        return k;
      }
    }
    throw new ImageFormatException("unknown range kind " + id);
  }
}
