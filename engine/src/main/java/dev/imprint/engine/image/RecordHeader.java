package dev.imprint.engine.image;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.codec.CodecException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The 64-byte header in front of every record of the image body, which makes each record
 * self-describing so an image restores in one pass from a pipe (docs/FORMAT.md, "Records").
 */
public record RecordHeader(
    int type,
    Codec codec,
    long logicalOffset,
    long logicalLength,
    int storedLength,
    byte[] sha256) {

  public static final int LENGTH = 64;
  static final byte[] MAGIC = {'I', 'M', 'R', 'C'};

  /** The record that ends the body; the metadata block follows it. */
  public static final int END = 0x7f;

  public static RecordHeader of(IndexEntry e) {
    return new RecordHeader(
        e.kind().id, e.codec(), e.logicalOffset(), e.logicalLength(), e.storedLength(), e.sha256());
  }

  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC)
        .put((byte) type)
        .put((byte) codec.id)
        .putShort((short) 0)
        .putLong(logicalOffset)
        .putLong(logicalLength)
        .putInt(storedLength)
        .put(sha256);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 60);
    b.putInt((int) crc.getValue());
    return b.array();
  }

  /** Decodes a record header found at file offset {@code at} (for messages). */
  public static RecordHeader decode(ByteBuffer src, long at) throws ImageFormatException {
    ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    byte[] raw = new byte[LENGTH];
    b.get(raw);
    ByteBuffer r = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    CRC32C crc = new CRC32C();
    crc.update(raw, 0, 60);
    if (raw[0] != 'I' || raw[1] != 'M' || raw[2] != 'R' || raw[3] != 'C') {
      throw new ImageFormatException("no record header at byte " + at + " (the image is damaged)");
    }
    if (r.getInt(60) != (int) crc.getValue()) {
      throw new ImageFormatException(
          "record header at byte " + at + " fails its checksum (the image is damaged)");
    }
    r.position(4);
    int type = Byte.toUnsignedInt(r.get());
    Codec codec;
    try {
      codec = Codec.of(r.get());
    } catch (CodecException e) {
      throw new ImageFormatException("record at byte " + at + ": " + e.getMessage());
    }
    r.getShort();
    long off = r.getLong();
    long len = r.getLong();
    int stored = r.getInt();
    byte[] sha = new byte[32];
    r.get(sha);
    return new RecordHeader(type, codec, off, len, stored, sha);
  }
}
