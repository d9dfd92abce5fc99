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

  /** More signatures than anyone signs with; bounds what a block may make a reader allocate. */
  public static final int MAX_SIGNATURES = 1024;

  static final int MAX_SIGNATURE_BLOCK = 8 + MAX_SIGNATURES * Signature.LENGTH;

  /**
   * Whether the last 80 bytes of a file of {@code fileLength} bytes are a trailer, damaged or not:
   * its magic with at most two bytes changed, or fields that only a trailer of this file would hold
   * (version 1, a header length, and metadata, index and signatures inside the file).
   */
  public static boolean resembles(byte[] last, long fileLength) {
    if (last.length < LENGTH) {
      return false;
    }
    if (ImageHeader.differences(last, MAGIC) <= 2) {
      return true;
    }
    ByteBuffer r = ByteBuffer.wrap(last).order(ByteOrder.LITTLE_ENDIAN);
    int h = r.getInt(12);
    long m = r.getLong(16);
    long index = r.getLong(24);
    long sig = r.getLong(32);
    long end = fileLength - LENGTH;
    return r.getShort(8) == ImageHeader.MAJOR
        && h >= ImageHeader.FIXED_LENGTH + 10
        && h <= ImageHeader.MAX_LENGTH
        && m >= h
        && m < end
        && index >= 8
        && (index - 8) % IndexEntry.LENGTH == 0
        && index <= end - m
        && sig >= m + h + index
        && sig <= end;
  }

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
      if (resembles(raw, fileLength)) {
        throw ImageDamagedException.field(
            where, "the trailer magic", ImageHeader.hex(Arrays.copyOf(raw, 8)), "is not IMPRTAIL");
      }
      throw new ImageDamagedException(
          where
              + " has no Imprint trailer at its end: the image is truncated or damaged "
              + "(copy it again)");
    }
    CRC32C crc = new CRC32C();
    crc.update(raw, 0, 76);
    if (r.getInt(76) != (int) crc.getValue()) {
      throw new ImageDamagedException(
          where + ": trailer checksum mismatch: the image is damaged (copy it again)");
    }
    r.position(8);
    int major = Short.toUnsignedInt(r.getShort());
    int minor = Short.toUnsignedInt(r.getShort());
    // The header, read first, already has this major version.
    if (major != ImageHeader.MAJOR) {
      throw ImageDamagedException.field(
          where, "the trailer's version", major + "." + minor, "differs from the header's");
    }
    int headerLength = r.getInt();
    long metadataOffset = r.getLong();
    long indexLength = r.getLong();
    long sigOffset = r.getLong();
    int sigLength = r.getInt();
    byte[] digest = new byte[32];
    r.get(digest);
    long end = fileLength - LENGTH;
    String outside = "lies outside the file before the trailer (" + end + " bytes)";
    if (headerLength < ImageHeader.FIXED_LENGTH + 10 || headerLength > ImageHeader.MAX_LENGTH) {
      throw ImageDamagedException.field(
          where,
          "the trailer's header length",
          Integer.toUnsignedString(headerLength),
          "is outside " + (ImageHeader.FIXED_LENGTH + 10) + ".." + ImageHeader.MAX_LENGTH);
    }
    // The header and the END record come before the metadata.
    if (metadataOffset < headerLength + RecordHeader.LENGTH
        || metadataOffset > end - headerLength) {
      throw ImageDamagedException.field(
          where, "the trailer's metadata offset", metadataOffset, outside);
    }
    long indexStart = metadataOffset + headerLength;
    if (indexLength < 8
        || (indexLength - 8) % IndexEntry.LENGTH != 0
        || indexLength > end - indexStart) {
      throw ImageDamagedException.field(
          where,
          "the trailer's index length",
          indexLength,
          "is not 8 + 64 x N bytes inside the file");
    }
    if (sigLength < 0
        || sigLength > MAX_SIGNATURE_BLOCK
        || (sigLength != 0 && (sigLength < 8 || (sigLength - 8) % Signature.LENGTH != 0))) {
      throw ImageDamagedException.field(
          where,
          "the trailer's signature block length",
          Integer.toUnsignedString(sigLength),
          "is not 8 + 100 x S bytes for at most " + MAX_SIGNATURES + " signatures");
    }
    if (sigOffset < indexStart + indexLength || sigOffset > end - sigLength) {
      throw ImageDamagedException.field(
          where, "the trailer's signature block offset", sigOffset, outside + " after the index");
    }
    return new Trailer(
        major, minor, headerLength, metadataOffset, indexLength, sigOffset, sigLength, digest);
  }
}
