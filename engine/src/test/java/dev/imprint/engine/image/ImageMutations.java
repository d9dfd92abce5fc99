package dev.imprint.engine.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongPredicate;
import java.util.zip.CRC32C;

/**
 * Hostile images made from a good one: every field of the header, the record headers, the index,
 * the signature block and the trailer set to hostile values, with the checksums and the digest
 * recomputed so the values themselves are what is wrong (docs/FORMAT.md has the layout).
 */
public final class ImageMutations {
  /** Which checksums cover a field, and so are recomputed after it changes. */
  public enum Cover {
    /** The header at 0: its CRC, its copy in the metadata, the digest and the trailer's CRC. */
    HEADER,
    /** A record header's CRC, at {@link Field#record}. */
    RECORD,
    /** The index: the digest and the trailer's CRC. */
    INDEX,
    /** The trailer's CRC. */
    TRAILER,
    /** Nothing: the signature block. */
    NONE
  }

  /**
   * One little-endian field of {@code width} bytes at file offset {@code at}; {@code legal} says
   * which values a reader may accept (the rest must be refused).
   */
  public record Field(
      String name, long at, int width, Cover cover, long record, LongPredicate legal) {
    @Override
    public String toString() {
      return name + " (byte " + at + ")";
    }
  }

  /** A mutated image and what was done to it. */
  public record Mutant(String what, byte[] bytes, boolean mustRefuse) {}

  private static final LongPredicate NONE_LEGAL = v -> false;
  private static final LongPredicate ANY = v -> true;

  private final byte[] image;
  private final int headerLength;
  private final long metadata;
  private final long indexLength;
  private final long sigOffset;
  private final List<Field> fields = new ArrayList<>();

  public ImageMutations(byte[] image) {
    this.image = image;
    ByteBuffer t = le(image).position(image.length - Trailer.LENGTH).slice().order(LE);
    headerLength = t.getInt(12);
    metadata = t.getLong(16);
    indexLength = t.getLong(24);
    sigOffset = t.getLong(32);
    headerFields();
    recordFields();
    indexFields();
    trailerFields();
    int sigs = le(image).getInt((int) sigOffset + 4);
    field("signature block magic", sigOffset, 4, Cover.NONE, 0, NONE_LEGAL);
    field("signature count", sigOffset + 4, 4, Cover.NONE, 0, NONE_LEGAL);
    for (int i = 0; i < sigs; i++) {
      long s = sigOffset + 8 + 100L * i;
      field("signature " + i + " algorithm", s, 2, Cover.NONE, 0, NONE_LEGAL);
      field("signature " + i + " reserved", s + 2, 2, Cover.NONE, 0, ANY);
      field("signature " + i + " key", s + 4, 8, Cover.NONE, 0, NONE_LEGAL);
      field("signature " + i + " bytes", s + 36, 8, Cover.NONE, 0, NONE_LEGAL);
    }
  }

  /**
   * Writes the small test image of {@code ImageFormatTest} (10 chunks of 64 KiB: data, a zero run,
   * unallocated, a short last chunk), signed by {@code signer} if not null.
   */
  public static ImageMetadata smallImage(java.nio.file.Path out, java.security.KeyPair signer)
      throws java.io.IOException {
    return ImageFormatTest.write(out, new ArrayList<>(), signer);
  }

  public List<Field> fields() {
    return fields;
  }

  /** Every field set to every hostile value it doesn't already hold. */
  public List<Mutant> all() {
    List<Mutant> out = new ArrayList<>();
    for (Field f : fields) {
      long orig = get(image, f.at(), f.width());
      for (long v : hostile(f.width(), orig)) {
        out.add(new Mutant(f + " = " + v, with(f, v), !f.legal().test(v)));
      }
    }
    return out;
  }

  /** The image with field {@code f} set to {@code value} and its checksums recomputed. */
  public byte[] with(Field f, long value) {
    byte[] b = image.clone();
    put(b, f.at(), f.width(), value);
    switch (f.cover()) {
      case HEADER -> {
        crc(b, 0, headerLength - 4);
        System.arraycopy(b, 0, b, (int) metadata, headerLength);
        digestAndTrailer(b);
      }
      case RECORD -> crc(b, f.record(), 60);
      case INDEX -> digestAndTrailer(b);
      case TRAILER -> crc(b, b.length - Trailer.LENGTH, 76);
      case NONE -> {}
    }
    return b;
  }

  /** 0, -1, the extremes, one off the original either way, and huge. */
  static Set<Long> hostile(int width, long orig) {
    long mask = width == 8 ? -1L : (1L << (8 * width)) - 1;
    long signMax = mask >>> 1;
    Set<Long> v = new LinkedHashSet<>();
    v.add(0L);
    v.add(mask); // -1
    v.add(signMax);
    v.add(signMax + 1 & mask);
    v.add(orig + 1 & mask);
    v.add(orig - 1 & mask);
    v.add(width >= 4 ? (width == 8 ? 1L << 62 : 1L << 30) : signMax - 1);
    v.remove(orig);
    return v;
  }

  private void headerFields() {
    ByteBuffer h = le(image);
    long size = h.getLong(16);
    field("header magic", 0, 8, Cover.HEADER, 0, NONE_LEGAL);
    field("header major version", 8, 2, Cover.HEADER, 0, NONE_LEGAL);
    field("header minor version", 10, 2, Cover.HEADER, 0, ANY);
    field("header length", 12, 4, Cover.HEADER, 0, NONE_LEGAL);
    field("logical size", 16, 8, Cover.HEADER, 0, NONE_LEGAL);
    field(
        "sector size",
        24,
        4,
        Cover.HEADER,
        0,
        v -> v >= 512 && v <= 65536 && Long.bitCount(v) == 1);
    field("chunk size", 28, 4, Cover.HEADER, 0, NONE_LEGAL);
    field("kind", 32, 1, Cover.HEADER, 0, v -> v == 1 || v == 2);
    field("default codec", 33, 1, Cover.HEADER, 0, v -> v <= 2);
    field("partition scheme", 34, 1, Cover.HEADER, 0, v -> v <= 2);
    field("header reserved", 35, 1, Cover.HEADER, 0, ANY);
    field("creation time", 36, 8, Cover.HEADER, 0, ANY);
    long p = 44;
    field("creator length", p, 2, Cover.HEADER, 0, NONE_LEGAL);
    p += 2 + Short.toUnsignedInt(h.getShort((int) p));
    field("source length", p, 2, Cover.HEADER, 0, NONE_LEGAL);
    p += 2 + Short.toUnsignedInt(h.getShort((int) p));
    int parts = Short.toUnsignedInt(h.getShort((int) p));
    field("partition count", p, 2, Cover.HEADER, 0, NONE_LEGAL);
    p += 2;
    for (int i = 0; i < parts; i++) {
      long off = h.getLong((int) p + 4);
      long len = h.getLong((int) p + 12);
      field("partition " + i + " number", p, 4, Cover.HEADER, 0, v -> v <= Integer.MAX_VALUE);
      field(
          "partition " + i + " offset",
          p + 4,
          8,
          Cover.HEADER,
          0,
          v -> v >= 0 && v < size && len <= size - v);
      field(
          "partition " + i + " length", p + 12, 8, Cover.HEADER, 0, v -> v > 0 && v <= size - off);
      p += 20;
      for (String s : List.of("type", "label", "filesystem", "note")) {
        field("partition " + i + " " + s + " length", p, 2, Cover.HEADER, 0, NONE_LEGAL);
        p += 2 + Short.toUnsignedInt(h.getShort((int) p));
      }
    }
  }

  /** The first record of each kind, each record of a run, and the END record. */
  private void recordFields() {
    ByteBuffer b = le(image);
    long p = headerLength;
    Set<Integer> kinds = new LinkedHashSet<>();
    int previous = -1;
    while (true) {
      int type = Byte.toUnsignedInt(b.get((int) p + 4));
      int stored = b.getInt((int) p + 24);
      if (kinds.add(type) || type == previous || type == RecordHeader.END) {
        recordFields(p, type == RecordHeader.END ? "END record" : "record " + type + " at " + p);
      }
      previous = type;
      if (type == RecordHeader.END) {
        break;
      }
      p += RecordHeader.LENGTH + stored;
    }
  }

  private void recordFields(long r, String name) {
    field(name + " magic", r, 4, Cover.RECORD, r, NONE_LEGAL);
    field(name + " type", r + 4, 1, Cover.RECORD, r, NONE_LEGAL);
    field(name + " codec", r + 5, 1, Cover.RECORD, r, NONE_LEGAL);
    field(name + " reserved", r + 6, 2, Cover.RECORD, r, ANY);
    field(name + " disk offset", r + 8, 8, Cover.RECORD, r, NONE_LEGAL);
    field(name + " length", r + 16, 8, Cover.RECORD, r, NONE_LEGAL);
    field(name + " stored length", r + 24, 4, Cover.RECORD, r, NONE_LEGAL);
    field(name + " hash", r + 28, 8, Cover.RECORD, r, NONE_LEGAL);
    field(name + " checksum", r + 60, 4, Cover.NONE, r, NONE_LEGAL);
  }

  private void indexFields() {
    long ix = metadata + headerLength;
    field("index magic", ix, 4, Cover.INDEX, 0, NONE_LEGAL);
    field("index count", ix + 4, 4, Cover.INDEX, 0, NONE_LEGAL);
    long n = (indexLength - 8) / IndexEntry.LENGTH;
    for (int i = 0; i < n; i++) {
      long e = ix + 8 + (long) i * IndexEntry.LENGTH;
      String name = "index entry " + i;
      field(name + " kind", e, 1, Cover.INDEX, 0, NONE_LEGAL);
      field(name + " codec", e + 1, 1, Cover.INDEX, 0, NONE_LEGAL);
      field(name + " reserved", e + 2, 2, Cover.INDEX, 0, ANY);
      field(name + " stored length", e + 4, 4, Cover.INDEX, 0, NONE_LEGAL);
      field(name + " disk offset", e + 8, 8, Cover.INDEX, 0, NONE_LEGAL);
      field(name + " length", e + 16, 8, Cover.INDEX, 0, NONE_LEGAL);
      field(name + " record offset", e + 24, 8, Cover.INDEX, 0, NONE_LEGAL);
      field(name + " hash", e + 32, 8, Cover.INDEX, 0, NONE_LEGAL);
    }
  }

  private void trailerFields() {
    long t = image.length - Trailer.LENGTH;
    field("trailer magic", t, 8, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer major version", t + 8, 2, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer minor version", t + 10, 2, Cover.TRAILER, 0, ANY);
    field("trailer header length", t + 12, 4, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer metadata offset", t + 16, 8, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer index length", t + 24, 8, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer signature offset", t + 32, 8, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer signature length", t + 40, 4, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer digest", t + 44, 8, Cover.TRAILER, 0, NONE_LEGAL);
    field("trailer checksum", t + 76, 4, Cover.NONE, 0, NONE_LEGAL);
  }

  private void field(String name, long at, int width, Cover cover, long rec, LongPredicate legal) {
    fields.add(new Field(name, at, width, cover, rec, legal));
  }

  private void digestAndTrailer(byte[] b) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(b, (int) metadata, headerLength);
      md.update(b, (int) metadata + headerLength, (int) indexLength);
      System.arraycopy(md.digest(), 0, b, b.length - Trailer.LENGTH + 44, 32);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    crc(b, b.length - Trailer.LENGTH, 76);
  }

  /** Writes the CRC-32C of {@code length} bytes at {@code from} just after them. */
  static void crc(byte[] b, long from, int length) {
    CRC32C c = new CRC32C();
    c.update(b, (int) from, length);
    le(b).putInt((int) from + length, (int) c.getValue());
  }

  static long get(byte[] b, long at, int width) {
    long v = 0;
    for (int i = width - 1; i >= 0; i--) {
      v = v << 8 | (b[(int) at + i] & 0xff);
    }
    return v;
  }

  static void put(byte[] b, long at, int width, long v) {
    for (int i = 0; i < width; i++) {
      b[(int) at + i] = (byte) (v >>> (8 * i));
    }
  }

  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(LE);
  }
}
