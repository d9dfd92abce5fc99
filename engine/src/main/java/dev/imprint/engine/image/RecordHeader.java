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
      throw new ImageDamagedException(
          "no record header at byte " + at + ": the image is damaged (copy it again)");
    }
    if (r.getInt(60) != (int) crc.getValue()) {
      throw new ImageDamagedException(
          "record header at byte "
              + at
              + " fails its checksum: the image is damaged (copy it again)");
    }
    String where = "the record at byte " + at;
    r.position(4);
    int type = Byte.toUnsignedInt(r.get());
    if (type != END
        && type != RangeKind.DATA.id
        && type != RangeKind.ZERO.id
        && type != RangeKind.UNALLOCATED.id) {
      throw ImageDamagedException.field(where, "its type", type, ImageHeader.UNDEFINED);
    }
    int codecId = Byte.toUnsignedInt(r.get());
    Codec codec;
    try {
      codec = Codec.of(codecId);
    } catch (CodecException e) {
      throw ImageDamagedException.field(where, "its codec", codecId, ImageHeader.UNDEFINED);
    }
    r.getShort(); // reserved: ignored
    long off = r.getLong();
    long len = r.getLong();
    int stored = r.getInt();
    byte[] sha = new byte[32];
    r.get(sha);
    RecordHeader h = new RecordHeader(type, codec, off, len, stored, sha);
    if (type == END
        && (codec != Codec.NONE || off != 0 || len < 0 || stored != 0 || !IndexEntry.isZero(sha))) {
      throw new ImageDamagedException(
          where + ": the END record's fields are not those of an END record: the image is damaged");
    }
    return h;
  }

  /** This record as an index entry would describe it, at file offset {@code at}. */
  IndexEntry asEntry(long at) throws ImageFormatException {
    return new IndexEntry(
        RangeKind.of(type), codec, logicalOffset, logicalLength, at, storedLength, sha256);
  }
}
