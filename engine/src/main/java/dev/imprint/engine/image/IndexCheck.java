package dev.imprint.engine.image;

/**
 * Checks index entries one by one, in order, as they are decoded: each is a valid range of its kind
 * (see {@link IndexEntry#check}), starts where the previous one ended, and points at a record
 * inside the body after the previous entry's record; the last ends at the disk's end.
 */
final class IndexCheck {
  private final ImageHeader header;
  private final long bodyStart;
  private final long bodyEnd;
  private final String where;
  private long expect;
  private long recordEnd;

  /**
   * @param bodyStart file offset of the first record (the header's length)
   * @param bodyEnd file offset of the END record
   */
  IndexCheck(ImageHeader header, long bodyStart, long bodyEnd, String where) {
    this.header = header;
    this.bodyStart = bodyStart;
    this.bodyEnd = bodyEnd;
    this.where = where;
    this.recordEnd = bodyStart;
  }

  /** The most entries a body of this length can have records for: one 64-byte record each. */
  long maxEntries() {
    return Math.max(0, (bodyEnd - bodyStart) / RecordHeader.LENGTH);
  }

  void next(int i, IndexEntry e) throws ImageDamagedException {
    String entry = where + ": index entry " + i;
    e.check(header, entry);
    if (e.logicalOffset() != expect) {
      throw ImageDamagedException.field(
          entry,
          "its disk offset",
          e.logicalOffset(),
          "is not where the entry before it ends (" + expect + ")");
    }
    long rec = e.recordOffset();
    long recordLength = RecordHeader.LENGTH + (long) e.storedLength();
    if (rec < recordEnd || rec > bodyEnd - recordLength) {
      throw ImageDamagedException.field(
          entry,
          "its record offset",
          rec,
          "is not inside the body ("
              + bodyStart
              + ".."
              + bodyEnd
              + ") after the record of the entry before it ("
              + recordEnd
              + ")");
    }
    expect = e.logicalEnd();
    recordEnd = rec + recordLength;
  }

  void finish(int count) throws ImageDamagedException {
    if (expect != header.logicalSize()) {
      throw ImageDamagedException.field(
          where,
          "the end of the index's " + count + " entries",
          expect,
          "is not the disk's size " + header.logicalSize());
    }
  }
}
