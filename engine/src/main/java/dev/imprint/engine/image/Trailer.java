package dev.imprint.engine.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The fixed 80 bytes at the very end of an image: where the metadata block is and the image digest
 * (docs/FORMAT.md, "Trailer"). A reader finds everything with one read of the trailer and one of
 * the metadata block.
 */
public record Trailer(
    int major,
    int minor,
    int headerLength,
    long metadataOffset,
    long indexLength,
    long signaturesOffset,
    int signaturesLength,
    byte[] digest) {

  public static final int LENGTH = 80;
  static final byte[] MAGIC = {'I', 'M', 'P', 'R', 'T', 'A', 'I', 'L'};

  /** Whether the file ends with an Imprint trailer's magic (a damaged image still does). */
  public static boolean endsWithTrailer(java.nio.channels.FileChannel ch)
      throws java.io.IOException {
    long size = ch.size();
    if (size < LENGTH) {
      return false;
    }
    ByteBuffer b = ByteBuffer.allocate(MAGIC.length);
    while (b.hasRemaining() && ch.read(b, size - LENGTH + b.position()) > 0) {}
    return Arrays.equals(b.array(), MAGIC);
  }

  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC)
        .putShort((short) major)
        .putShort((short) minor)
        .putInt(headerLength)
        .putLong(metadataOffset)
        .putLong(indexLength)
        .putLong(signaturesOffset)
        .putInt(signaturesLength)
        .put(digest);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 76);
    b.putInt((int) crc.getValue());
    return b.array();
  }

  public static Trailer decode(ByteBuffer src, long fileLength, String where)
      throws ImageFormatException {
    ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    byte[] raw = new byte[LENGTH];
    b.get(raw);
    ByteBuffer r = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    if (!Arrays.equals(Arrays.copyOf(raw, 8), MAGIC)) {
      throw new ImageFormatException(
          where
              + " has no Imprint trailer at its end: the image is truncated or damaged "
              + "(copy it again)");
    }
    CRC32C crc = new CRC32C();
    crc.update(raw, 0, 76);
    if (r.getInt(76) != (int) crc.getValue()) {
      throw new ImageFormatException(where + ": trailer checksum mismatch (the image is damaged)");
    }
    r.position(8);
    int major = Short.toUnsignedInt(r.getShort());
    int minor = Short.toUnsignedInt(r.getShort());
    if (major != ImageHeader.MAJOR) {
      throw ImageHeader.unknownVersion(where, major, minor);
    }
    int headerLength = r.getInt();
    long metadataOffset = r.getLong();
    long indexLength = r.getLong();
    long sigOffset = r.getLong();
    int sigLength = r.getInt();
    byte[] digest = new byte[32];
    r.get(digest);
    long end = fileLength - LENGTH;
    if (metadataOffset < 0
        || headerLength <= 0
        || indexLength < 8
        || metadataOffset + headerLength + indexLength > end
        || sigOffset < metadataOffset + headerLength + indexLength
        || sigOffset + sigLength > end) {
      throw new ImageFormatException(
          where + ": trailer points outside the file: the image is truncated or damaged");
    }
    return new Trailer(
        major, minor, headerLength, metadataOffset, indexLength, sigOffset, sigLength, digest);
  }
}
