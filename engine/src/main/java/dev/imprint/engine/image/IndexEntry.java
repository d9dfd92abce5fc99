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

  static IndexEntry decode(ByteBuffer b, String where) throws ImageFormatException {
    int kindId = Byte.toUnsignedInt(b.get());
    int codecId = Byte.toUnsignedInt(b.get());
    RangeKind kind;
    Codec codec;
    try {
      kind = RangeKind.of(kindId);
    } catch (ImageFormatException e) {
      throw ImageDamagedException.field(where, "its kind", kindId, ImageHeader.UNDEFINED);
    }
    try {
      codec = Codec.of(codecId);
    } catch (CodecException e) {
      throw ImageDamagedException.field(where, "its codec", codecId, ImageHeader.UNDEFINED);
    }
    b.getShort(); // reserved: ignored
    int stored = b.getInt();
    long off = b.getLong();
    long len = b.getLong();
    long rec = b.getLong();
    byte[] sha = new byte[32];
    b.get(sha);
    return new IndexEntry(kind, codec, off, len, rec, stored, sha);
  }

  /**
   * Checks what an entry or a record says on its own against the header: a DATA range is exactly
   * one chunk, its stored length one its codec can produce; other ranges store nothing and lie
   * inside the disk. {@code where} names the entry or record for the message.
   */
  void check(ImageHeader h, String where) throws ImageDamagedException {
    long size = h.logicalSize();
    int cs = h.chunkSize();
    if (logicalOffset < 0 || logicalOffset >= size) {
      throw ImageDamagedException.field(
          where, "its disk offset", logicalOffset, "lies outside the " + size + "-byte disk");
    }
    if (kind == RangeKind.DATA) {
      long chunk = Math.min(cs, size - logicalOffset);
      if (logicalOffset % cs != 0) {
        throw ImageDamagedException.field(
            where, "its disk offset", logicalOffset, "is not a multiple of the chunk size " + cs);
      }
      if (logicalLength != chunk) {
        throw ImageDamagedException.field(
            where, "its length", logicalLength, "is not the chunk's length " + chunk);
      }
      int max = codec.maxCompressedLength((int) chunk);
      if (storedLength <= 0 || storedLength > max) {
        throw ImageDamagedException.field(
            where,
            "its stored length",
            Integer.toUnsignedString(storedLength),
            "is outside 1.." + max + " for a " + chunk + "-byte chunk in " + codec);
      }
      return;
    }
    if (logicalLength <= 0 || logicalLength > size - logicalOffset) {
      throw ImageDamagedException.field(
          where,
          "its length",
          logicalLength,
          "is not a range inside the " + size + "-byte disk from " + logicalOffset);
    }
    if (codec != Codec.NONE || storedLength != 0 || !isZero(sha256)) {
      throw ImageDamagedException.field(
          where,
          "its codec, stored length or hash",
          codec + ", " + Integer.toUnsignedString(storedLength),
          "should be none, 0 and zeros for a " + kind + " range");
    }
  }

  static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
