package dev.imprint.engine.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Everything about an image but its chunk payloads: header, index, signatures and the digest that
 * identifies it. Decoding checks that the index tiles the logical disk exactly. The index is kept
 * encoded ({@link IndexTable}): memory does not grow with its entries.
 */
public record ImageMetadata(
    ImageHeader header,
    byte[] headerBytes,
    IndexTable index,
    List<Signature> signatures,
    byte[] digest) {

  static final byte[] INDEX_MAGIC = {'I', 'M', 'I', 'X'};
  static final byte[] SIG_MAGIC = {'I', 'M', 'S', 'G'};

  /** The index's first 8 bytes: magic and entry count. */
  static final int INDEX_PREFIX = 8;

  public ImageMetadata {
    signatures = List.copyOf(signatures);
  }

  /** The index's first 8 bytes for {@code count} entries. */
  static byte[] indexPrefix(int count) {
    return ByteBuffer.allocate(INDEX_PREFIX)
        .order(ByteOrder.LITTLE_ENDIAN)
        .put(INDEX_MAGIC)
        .putInt(count)
        .array();
  }

  /** SHA-256 over the header bytes followed by the index bytes (prefix, then entries). */
  static byte[] digestOf(byte[] headerBytes, byte[] indexPrefix, IndexTable entries) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(headerBytes);
      md.update(indexPrefix);
      for (ByteBuffer b : entries.encoded()) {
        md.update(b);
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** SHA-256 over the header bytes followed by the index bytes. */
  public static byte[] digestOf(byte[] headerBytes, byte[] indexBytes) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(headerBytes);
      md.update(indexBytes);
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public long bytesOf(RangeKind kind) {
    long n = 0;
    for (IndexEntry e : index) {
      if (e.kind() == kind) {
        n += e.logicalLength();
      }
    }
    return n;
  }

  public long storedBytes() {
    long n = 0;
    for (IndexEntry e : index) {
      n += e.storedLength();
    }
    return n;
  }

  public static byte[] encodeIndex(List<IndexEntry> entries) {
    ByteBuffer b =
        ByteBuffer.allocate(8 + entries.size() * IndexEntry.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.put(INDEX_MAGIC).putInt(entries.size());
    for (IndexEntry e : entries) {
      e.encode(b);
    }
    return b.array();
  }

  public static byte[] encodeSignatures(List<Signature> sigs) {
    ByteBuffer b =
        ByteBuffer.allocate(8 + sigs.size() * Signature.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.put(SIG_MAGIC).putInt(sigs.size());
    for (Signature s : sigs) {
      b.putShort((short) s.algorithm()).putShort((short) 0).put(s.publicKey()).put(s.signature());
    }
    return b.array();
  }

  /**
   * Decodes and checks the metadata: the digest must match the trailer's, and the index must cover
   * [0, logical size) in order without gaps or overlaps.
   */
  public static ImageMetadata decode(
      byte[] headerBytes,
      byte[] indexBytes,
      byte[] sigBytes,
      byte[] expectedDigest,
      long bodyEnd,
      String where)
      throws ImageFormatException {
    if (indexBytes.length < INDEX_PREFIX
        || (indexBytes.length - INDEX_PREFIX) % IndexEntry.LENGTH != 0) {
      throw ImageDamagedException.field(
          where,
          "the index's length",
          indexBytes.length,
          "is not 8 bytes plus whole 64-byte entries");
    }
    return decode(
        headerBytes,
        Arrays.copyOf(indexBytes, INDEX_PREFIX),
        IndexTable.of(ByteBuffer.wrap(indexBytes).position(INDEX_PREFIX)),
        sigBytes,
        expectedDigest,
        bodyEnd,
        where);
  }

  /** As above, with the index as its 8-byte prefix and its entries, however they are stored. */
  public static ImageMetadata decode(
      byte[] headerBytes,
      byte[] indexPrefix,
      IndexTable entries,
      byte[] sigBytes,
      byte[] expectedDigest,
      long bodyEnd,
      String where)
      throws ImageFormatException {
    ImageHeader header = ImageHeader.decode(headerBytes, where);
    byte[] digest = digestOf(headerBytes, indexPrefix, entries);
    if (expectedDigest != null && !MessageDigest.isEqual(digest, expectedDigest)) {
      throw new ImageDamagedException(
          where
              + ": the image digest of header and index differs from the trailer's: the index or"
              + " header is damaged (copy the image again)");
    }
    decodeIndex(
        indexPrefix,
        entries,
        header,
        new IndexCheck(header, headerBytes.length, bodyEnd, where),
        where);
    List<Signature> sigs = decodeSignatures(sigBytes, where);
    return new ImageMetadata(header, headerBytes, entries, sigs, digest);
  }

  static void decodeIndex(
      byte[] prefix, IndexTable entries, ImageHeader header, IndexCheck check, String where)
      throws ImageFormatException {
    ByteBuffer b = ByteBuffer.wrap(prefix).order(ByteOrder.LITTLE_ENDIAN);
    byte[] magic = new byte[4];
    b.get(magic);
    if (!Arrays.equals(magic, INDEX_MAGIC)) {
      throw ImageDamagedException.field(
          where, "the index magic", ImageHeader.hex(magic), "is not IMIX");
    }
    int count = b.getInt();
    if (count < 0 || count != entries.size() || count > check.maxEntries()) {
      throw ImageDamagedException.field(
          where,
          "the index's entry count",
          Integer.toUnsignedString(count),
          "does not fit the index's length or the body's records");
    }
    for (int i = 0; i < count; i++) {
      IndexEntry e = entries.entry(i, where + ": index entry " + i);
      check.next(i, e);
    }
    check.finish(count);
  }

  static List<Signature> decodeSignatures(byte[] bytes, String where) throws ImageFormatException {
    if (bytes.length == 0) {
      return List.of();
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    byte[] magic = new byte[4];
    b.get(magic);
    int count = b.getInt();
    if (!Arrays.equals(magic, SIG_MAGIC)) {
      throw ImageDamagedException.field(
          where, "the signature block magic", ImageHeader.hex(magic), "is not IMSG");
    }
    if (count < 0
        || count > Trailer.MAX_SIGNATURES
        || (long) count * Signature.LENGTH != bytes.length - 8L) {
      throw ImageDamagedException.field(
          where,
          "the signature count",
          Integer.toUnsignedString(count),
          "does not fit the signature block's " + bytes.length + " bytes");
    }
    List<Signature> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int alg = Short.toUnsignedInt(b.getShort());
      b.getShort();
      byte[] key = new byte[32];
      byte[] sig = new byte[64];
      b.get(key).get(sig);
      out.add(new Signature(alg, key, sig));
    }
    return out;
  }
}
