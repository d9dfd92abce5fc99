package dev.imprint.engine.image;

import dev.imprint.engine.codec.Codec;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/** The image header (docs/FORMAT.md, "Header"): geometry and provenance of the logical disk. */
public record ImageHeader(
    int major,
    int minor,
    long logicalSize,
    int sectorSize,
    int chunkSize,
    ImageKind kind,
    Codec codec,
    PartitionScheme scheme,
    Instant created,
    String creator,
    String source,
    List<Partition> partitions) {

  public static final byte[] MAGIC = {'I', 'M', 'P', 'R', 'I', 'N', 'T', 0};
  public static final int MAJOR = 1;
  public static final int MINOR = 0;
  static final int FIXED_LENGTH = 44;
  static final int MAX_LENGTH = 1 << 20;

  public ImageHeader {
    partitions = List.copyOf(partitions);
  }

  /** The same header for a disk of {@code size} bytes (a pipe's size is known at its end). */
  public ImageHeader withLogicalSize(long size) {
    return new ImageHeader(
        major,
        minor,
        size,
        sectorSize,
        chunkSize,
        kind,
        codec,
        scheme,
        created,
        creator,
        source,
        partitions);
  }

  /** The exact bytes of this header, CRC included. */
  public byte[] encode() {
    ByteArrayOutputStream var = new ByteArrayOutputStream();
    putString(var, creator);
    putString(var, source);
    putU16(var, partitions.size());
    for (Partition p : partitions) {
      ByteBuffer b = le(20);
      b.putInt(p.number()).putLong(p.offset()).putLong(p.length());
      var.writeBytes(b.array());
      putString(var, p.type());
      putString(var, p.label());
      putString(var, p.filesystem());
      putString(var, p.note());
    }
    byte[] tail = var.toByteArray();
    int length = FIXED_LENGTH + tail.length + 4;
    ByteBuffer b = le(length);
    b.put(MAGIC)
        .putShort((short) major)
        .putShort((short) minor)
        .putInt(length)
        .putLong(logicalSize)
        .putInt(sectorSize)
        .putInt(chunkSize)
        .put((byte) kind.id)
        .put((byte) codec.id)
        .put((byte) scheme.id)
        .put((byte) 0)
        .putLong(created.toEpochMilli())
        .put(tail);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, length - 4);
    b.putInt((int) crc.getValue());
    return b.array();
  }

  /**
   * Reads the first 16 bytes of a header: checks magic and major version and returns the full
   * header length.
   */
  public static int lengthFromPrefix(ByteBuffer prefix, String where) throws ImageFormatException {
    ByteBuffer b = prefix.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < 16) {
      throw new ImageFormatException(where + " is too short to be an Imprint image");
    }
    byte[] magic = new byte[8];
    b.get(magic);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new ImageFormatException(
          where + " is not an Imprint image (wrong magic): give a file made by imprint create");
    }
    int major = Short.toUnsignedInt(b.getShort());
    int minor = Short.toUnsignedInt(b.getShort());
    if (major != MAJOR) {
      throw unknownVersion(where, major, minor);
    }
    int length = b.getInt();
    if (length < FIXED_LENGTH + 4 + 6 || length > MAX_LENGTH) {
      throw new ImageFormatException(where + ": header length " + length + " is invalid");
    }
    return length;
  }

  /** A major version this reader doesn't know: named, with the fix. */
  static ImageFormatException unknownVersion(String where, int major, int minor) {
    return new ImageFormatException(
        where
            + " is an Imprint image of format version "
            + major
            + "."
            + minor
            + ", which this imprint (reads "
            + MAJOR
            + ".x) does not understand: upgrade imprint");
  }

  public static ImageHeader decode(byte[] bytes, String where) throws ImageFormatException {
    int length = lengthFromPrefix(ByteBuffer.wrap(bytes), where);
    if (bytes.length < length) {
      throw new ImageFormatException(where + ": header is truncated");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, length - 4);
    ByteBuffer b = ByteBuffer.wrap(bytes, 0, length).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(length - 4) != (int) crc.getValue()) {
      throw new ImageFormatException(where + ": header checksum mismatch (the image is damaged)");
    }
    try {
      b.position(8);
      int major = Short.toUnsignedInt(b.getShort());
      int minor = Short.toUnsignedInt(b.getShort());
      b.getInt();
      long logicalSize = b.getLong();
      int sectorSize = b.getInt();
      int chunkSize = b.getInt();
      ImageKind kind = ImageKind.of(b.get());
      Codec codec;
      try {
        codec = Codec.of(b.get());
      } catch (dev.imprint.engine.codec.CodecException e) {
        throw new ImageFormatException(where + ": " + e.getMessage());
      }
      PartitionScheme scheme = PartitionScheme.of(b.get());
      b.get();
      Instant created = Instant.ofEpochMilli(b.getLong());
      String creator = getString(b);
      String source = getString(b);
      int count = Short.toUnsignedInt(b.getShort());
      List<Partition> parts = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int number = b.getInt();
        long offset = b.getLong();
        long len = b.getLong();
        parts.add(
            new Partition(
                number, offset, len, getString(b), getString(b), getString(b), getString(b)));
      }
      if (logicalSize < 0 || chunkSize < 4096 || Integer.bitCount(chunkSize) != 1) {
        throw new ImageFormatException(where + ": header geometry is invalid");
      }
      if (sectorSize < 512 || Integer.bitCount(sectorSize) != 1) {
        throw new ImageFormatException(where + ": sector size " + sectorSize + " is invalid");
      }
      // Bytes between here and the CRC are fields of a newer minor version: skipped.
      return new ImageHeader(
          major,
          minor,
          logicalSize,
          sectorSize,
          chunkSize,
          kind,
          codec,
          scheme,
          created,
          creator,
          source,
          parts);
    } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
      throw new ImageFormatException(where + ": header fields overrun its length");
    }
  }

  static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static void putU16(ByteArrayOutputStream out, int v) {
    out.write(v & 0xff);
    out.write((v >>> 8) & 0xff);
  }

  private static void putString(ByteArrayOutputStream out, String s) {
    byte[] u = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    int n = Math.min(u.length, 0xffff);
    putU16(out, n);
    out.write(u, 0, n);
  }

  private static String getString(ByteBuffer b) {
    int n = Short.toUnsignedInt(b.getShort());
    byte[] u = new byte[n];
    b.get(u);
    return new String(u, StandardCharsets.UTF_8);
  }
}
