package dev.imprint.engine.image;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.codec.CodecException;
import java.nio.ByteBuffer;

/**
 * One index entry: a logical range, what it holds, and for data where its record sits in the file
 * (docs/FORMAT.md, "Index"). Data entries cover one chunk each; zero and unallocated entries cover
 * any run of chunks.
 */
public record IndexEntry(
    RangeKind kind,
    Codec codec,
    long logicalOffset,
    long logicalLength,
    long recordOffset,
    int storedLength,
    byte[] sha256) {

  public static final int LENGTH = 64;

  public long logicalEnd() {
    return logicalOffset + logicalLength;
  }

  /** Offset of the stored payload, just after the record header. */
  public long payloadOffset() {
    return recordOffset + RecordHeader.LENGTH;
  }

  void encode(ByteBuffer b) {
    b.put((byte) kind.id)
        .put((byte) codec.id)
        .putShort((short) 0)
        .putInt(storedLength)
        .putLong(logicalOffset)
        .putLong(logicalLength)
        .putLong(recordOffset)
        .put(sha256);
  }

  static IndexEntry decode(ByteBuffer b) throws ImageFormatException {
    RangeKind kind = RangeKind.of(b.get());
    Codec codec;
    try {
      codec = Codec.of(b.get());
    } catch (CodecException e) {
      throw new ImageFormatException(e.getMessage());
    }
    b.getShort();
    int stored = b.getInt();
    long off = b.getLong();
    long len = b.getLong();
    long rec = b.getLong();
    byte[] sha = new byte[32];
    b.get(sha);
    return new IndexEntry(kind, codec, off, len, rec, stored, sha);
  }
}
