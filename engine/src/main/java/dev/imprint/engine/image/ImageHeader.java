package dev.imprint.engine.image;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.partition.Partition;
import dev.imprint.engine.partition.PartitionEntry;
import dev.imprint.engine.partition.PartitionScheme;
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

  /** Chunk sizes the writer allows: powers of two from 64 KiB to 64 MiB. */
  public static final int MIN_CHUNK_SIZE = 64 << 10;

  public static final int MAX_CHUNK_SIZE = 64 << 20;

  /** Sector sizes of real disks: powers of two from 512 to 64 KiB. */
  static final int MAX_SECTOR_SIZE = 64 << 10;

  /** No disk is larger (2^60 bytes, 1 EiB); keeps every offset sum far from overflow. */
  public static final long MAX_LOGICAL_SIZE = 1L << 60;

  static final String UNDEFINED = "is not one that format version 1 defines";

  /** Bytes a partition entry takes at least: the fixed fields and four empty strings. */
  private static final int MIN_PARTITION_LENGTH = 20 + 4 * 2;

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
      if (resemblesMagic(magic)) {
        throw ImageDamagedException.field(
            where, "the header magic", hex(magic), "is not IMPRINT\\0");
      }
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
      throw ImageDamagedException.field(
          where,
          "the header length",
          Integer.toUnsignedString(length),
          "is outside " + (FIXED_LENGTH + 4 + 6) + ".." + MAX_LENGTH);
    }
    return length;
  }

  /**
   * Whether 8 bytes are the header magic with at most two bytes changed: a damaged Imprint image,
   * not a disk that happens to start that way.
   */
  public static boolean resemblesMagic(byte[] head) {
    return head.length >= MAGIC.length && differences(head, MAGIC) <= 2;
  }

  static int differences(byte[] a, byte[] magic) {
    int d = 0;
    for (int i = 0; i < magic.length; i++) {
      if (a[i] != magic[i]) {
        d++;
      }
    }
    return d;
  }

  static String hex(byte[] b) {
    return java.util.HexFormat.of().formatHex(b);
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
    if (bytes.length != length) {
      // Only the metadata's copy can differ: the trailer gives its length too.
      throw ImageDamagedException.field(
          where,
          "the header length",
          length,
          "differs from the " + bytes.length + " bytes the trailer gives the header");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, length - 4);
    ByteBuffer b = ByteBuffer.wrap(bytes, 0, length).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(length - 4) != (int) crc.getValue()) {
      throw new ImageDamagedException(
          where + ": header checksum mismatch: the image is damaged (copy it again)");
    }
    // Fields are read up to the CRC only: a string or count running into it is damage.
    b.limit(length - 4);
    try {
      b.position(8);
      int major = Short.toUnsignedInt(b.getShort());
      int minor = Short.toUnsignedInt(b.getShort());
      b.getInt();
      long logicalSize = b.getLong();
      int sectorSize = b.getInt();
      int chunkSize = b.getInt();
      int kindId = Byte.toUnsignedInt(b.get());
      int codecId = Byte.toUnsignedInt(b.get());
      int schemeId = Byte.toUnsignedInt(b.get());
      b.get(); // reserved: ignored, so a minor version may use it
      long createdMillis = b.getLong();
      if (logicalSize <= 0 || logicalSize > MAX_LOGICAL_SIZE) {
        throw ImageDamagedException.field(
            where, "the logical size", logicalSize, "is outside 1.." + MAX_LOGICAL_SIZE);
      }
      if (sectorSize < 512 || sectorSize > MAX_SECTOR_SIZE || Integer.bitCount(sectorSize) != 1) {
        throw ImageDamagedException.field(
            where,
            "the sector size",
            Integer.toUnsignedString(sectorSize),
            "is not a power of two from 512 to " + MAX_SECTOR_SIZE);
      }
      if (chunkSize < MIN_CHUNK_SIZE
          || chunkSize > MAX_CHUNK_SIZE
          || Integer.bitCount(chunkSize) != 1) {
        throw ImageDamagedException.field(
            where,
            "the chunk size",
            Integer.toUnsignedString(chunkSize),
            "is not a power of two from 64 KiB to 64 MiB");
      }
      ImageKind kind;
      Codec codec;
      PartitionScheme scheme;
      try {
        kind = ImageKind.of(kindId);
      } catch (ImageFormatException e) {
        throw ImageDamagedException.field(where, "the image kind", kindId, UNDEFINED);
      }
      try {
        codec = Codec.of(codecId);
      } catch (dev.imprint.engine.codec.CodecException e) {
        throw ImageDamagedException.field(where, "the default codec", codecId, UNDEFINED);
      }
      scheme =
          PartitionScheme.of(schemeId)
              .orElseThrow(
                  () ->
                      ImageDamagedException.field(
                          where, "the partition scheme", schemeId, UNDEFINED));
      Instant created = Instant.ofEpochMilli(createdMillis);
      String creator = getString(b);
      String source = getString(b);
      int count = Short.toUnsignedInt(b.getShort());
      if ((long) count * MIN_PARTITION_LENGTH > b.remaining()) {
        throw ImageDamagedException.field(
            where, "the partition count", count, "is more than the header's length can hold");
      }
      List<Partition> parts = new ArrayList<>(count);
      java.util.Set<Integer> numbers = new java.util.HashSet<>();
      for (int i = 0; i < count; i++) {
        int number = b.getInt();
        long offset = b.getLong();
        long len = b.getLong();
        String field = "partition entry " + i;
        if (number < 0 || !numbers.add(number)) {
          throw ImageDamagedException.field(
              where, field + "'s number", number, "is negative or repeated");
        }
        if (offset < 0 || len <= 0 || len > logicalSize - offset) {
          throw ImageDamagedException.field(
              where,
              field,
              "at " + offset + " of length " + len,
              "does not lie inside the " + logicalSize + "-byte disk");
        }
        PartitionEntry entry =
            PartitionEntry.recorded(number, offset, len, getString(b), getString(b));
        parts.add(new Partition(entry, getString(b), getString(b)));
      }
      if (minor <= MINOR && b.hasRemaining()) {
        // Only a newer minor version adds fields here; in this one the length field is wrong.
        throw ImageDamagedException.field(
            where,
            "the header length",
            length,
            "leaves " + b.remaining() + " bytes that no field of version 1." + minor + " holds");
      }
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
      throw new ImageDamagedException(
          where + ": header fields overrun its length: the image is damaged (copy it again)");
    } catch (java.time.DateTimeException e) {
      throw ImageDamagedException.field(where, "the creation time", "out of range", "is invalid");
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
