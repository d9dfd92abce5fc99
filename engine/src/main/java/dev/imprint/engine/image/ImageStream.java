package dev.imprint.engine.image;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;

/**
 * Reads an image front to back from a pipe: header, then one record at a time, then the metadata
 * block, which is checked against everything the records said. Not thread-safe.
 */
public final class ImageStream {
  private final DataInputStream in;
  private final String where;
  private final ImageHeader header;
  private final byte[] headerBytes;

  /** What the records said, kept encoded (not an object per record) until the index comes. */
  private final IndexTable.Builder seen = new IndexTable.Builder();

  /** The index is read in pieces of this many bytes (whole entries). */
  /** Index bytes read at a time: below G1's humongous size, like the table's blocks. */
  private static final int INDEX_PIECE = 256 << 10;

  /** Carries payload bytes from the stream into (direct) payload buffers. */
  private final byte[] copy = new byte[1 << 16];

  private long position;
  private long covered;
  private ImageMetadata metadata;

  /** A record of the body: data carries its stored payload. */
  public record StoredRecord(IndexEntry entry, long chunkNumber, ByteBuffer payload) {}

  public ImageStream(InputStream in, String where) throws IOException {
    this.in = new DataInputStream(in);
    this.where = where;
    byte[] prefix = readN(16, "its header");
    int length = ImageHeader.lengthFromPrefix(ByteBuffer.wrap(prefix), where);
    byte[] rest = readN(length - 16, "its header");
    headerBytes = Arrays.copyOf(prefix, length);
    System.arraycopy(rest, 0, headerBytes, 16, rest.length);
    header = ImageHeader.decode(headerBytes, where);
  }

  public ImageHeader header() {
    return header;
  }

  /** The header's bytes as the stream began with them. */
  public byte[] headerBytes() {
    return headerBytes.clone();
  }

  /** The metadata, once {@link #next} has returned null. */
  public ImageMetadata metadata() {
    return metadata;
  }

  /**
   * The next record, or null after the END record once the metadata has been read and matched
   * against the records. {@code payload} buffers come from {@code allocate}.
   */
  public StoredRecord next(java.util.function.IntFunction<ByteBuffer> allocate) throws IOException {
    long at = position;
    byte[] raw = readN(RecordHeader.LENGTH, "a record header");
    RecordHeader r = RecordHeader.decode(ByteBuffer.wrap(raw), at);
    if (r.type() == RecordHeader.END) {
      if (covered != header.logicalSize()) {
        throw ImageDamagedException.field(
            where,
            "the END record at byte " + at,
            "after " + covered + " bytes of disk",
            "comes before the records cover the disk's " + header.logicalSize());
      }
      finishMetadata(at, r.logicalLength());
      return null;
    }
    IndexEntry e = r.asEntry(at);
    // Checked before anything is allocated or handed on: sizes and place come from the file.
    e.check(header, where + ": the record at byte " + at);
    if (e.logicalOffset() != covered) {
      throw ImageDamagedException.field(
          where + ": the record at byte " + at,
          "its disk offset",
          e.logicalOffset(),
          "is not where the record before it ends (" + covered + ")");
    }
    ByteBuffer payload = null;
    if (e.kind() == RangeKind.DATA) {
      payload = allocate.apply(r.storedLength());
      payload.clear().limit(r.storedLength());
      while (payload.hasRemaining()) {
        int n = in.read(copy, 0, Math.min(copy.length, payload.remaining()));
        if (n < 0) {
          throw truncated("a chunk's data");
        }
        payload.put(copy, 0, n);
        position += n;
      }
      payload.flip();
    }
    covered = e.logicalEnd();
    seen.add(e);
    return new StoredRecord(e, r.logicalOffset() / header.chunkSize(), payload);
  }

  /**
   * Reads and checks what follows the END record at {@code endAt}, whose count of index entries is
   * {@code entries}.
   */
  private void finishMetadata(long endAt, long entries) throws IOException {
    long metadataOffset = position;
    byte[] copy = readN(headerBytes.length, "the metadata");
    if (!Arrays.equals(copy, headerBytes)) {
      throw new ImageDamagedException(
          where
              + ": the header copy in the metadata differs from the header: the image is damaged"
              + " (copy it again)");
    }
    byte[] ixHead = readN(8, "the index");
    int count = ByteBuffer.wrap(ixHead, 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    // Every entry has at least one record: the records seen bound what may be read.
    if (count < 0
        || count != entries
        || count > seen.size()
        || count > (Integer.MAX_VALUE - 8) / IndexEntry.LENGTH) {
      throw ImageDamagedException.field(
          where,
          "the index's entry count",
          Integer.toUnsignedString(count),
          "differs from the END record's " + entries + " or the " + seen.size() + " records");
    }
    // Read in pieces into a table that spools a large index to disk: never all of it on the heap.
    IndexTable.Builder table = new IndexTable.Builder();
    for (long left = (long) count * IndexEntry.LENGTH; left > 0; ) {
      int n = (int) Math.min(left, INDEX_PIECE);
      table.appendEncoded(ByteBuffer.wrap(readN(n, "the index")));
      left -= n;
    }
    byte[] sigs = new byte[0];
    long sigsAt = position;
    Trailer trailer = null;
    // Signature blocks and trailers follow; `imprint sign` appends a pair, the last one counts.
    while (true) {
      long at = position;
      byte[] magic = new byte[4];
      int n = in.readNBytes(magic, 0, 4);
      if (n == 0) {
        break;
      }
      if (n < 4) {
        throw truncated("the trailer");
      }
      position += 4;
      if (Arrays.equals(magic, ImageMetadata.SIG_MAGIC)) {
        byte[] cnt = readN(4, "a signature block");
        int c = ByteBuffer.wrap(cnt).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (c < 0 || c > Trailer.MAX_SIGNATURES) {
          throw ImageDamagedException.field(
              where,
              "the signature count at byte " + at,
              Integer.toUnsignedString(c),
              "is outside 0.." + Trailer.MAX_SIGNATURES);
        }
        byte[] body = readN(c * Signature.LENGTH, "a signature block");
        sigs = new byte[8 + body.length];
        sigsAt = at;
        System.arraycopy(magic, 0, sigs, 0, 4);
        System.arraycopy(cnt, 0, sigs, 4, 4);
        System.arraycopy(body, 0, sigs, 8, body.length);
      } else if (magic[0] == 'I' && magic[1] == 'M' && magic[2] == 'P' && magic[3] == 'R') {
        byte[] t = new byte[Trailer.LENGTH];
        System.arraycopy(magic, 0, t, 0, 4);
        System.arraycopy(readN(Trailer.LENGTH - 4, "the trailer"), 0, t, 4, Trailer.LENGTH - 4);
        trailer = Trailer.decode(ByteBuffer.wrap(t), position, where);
        // A pipe has no seeking: the trailer must point at exactly what came before it.
        if (trailer.metadataOffset() != metadataOffset
            || trailer.headerLength() != headerBytes.length
            || trailer.indexLength() != 8L + (long) count * IndexEntry.LENGTH
            || trailer.signaturesLength() != sigs.length
            || (sigs.length > 0 && trailer.signaturesOffset() != sigsAt)) {
          throw ImageDamagedException.field(
              where,
              "the trailer at byte " + at,
              "pointing at metadata " + trailer.metadataOffset(),
              "does not describe the metadata the stream holds");
        }
      } else {
        throw ImageDamagedException.field(
            where,
            "the bytes at " + at,
            ImageHeader.hex(magic),
            "are neither a signature block nor a trailer");
      }
    }
    if (trailer == null) {
      throw truncated("the trailer");
    }
    metadata =
        ImageMetadata.decode(
            headerBytes, ixHead, table.build(), sigs, trailer.digest(), endAt, where);
    matchRecords(metadata.index(), seen.build());
  }

  /** The records streamed must be exactly what the (digest-checked) index describes. */
  private void matchRecords(List<IndexEntry> index, List<IndexEntry> seen)
      throws ImageFormatException {
    int i = 0;
    long covered = 0;
    for (IndexEntry e : index) {
      long end = e.logicalEnd();
      while (covered < end) {
        if (i >= seen.size()) {
          throw mismatch(covered);
        }
        IndexEntry s = seen.get(i++);
        // An entry's record offset is that of its record, or of the first record of its run.
        boolean same =
            s.kind() == e.kind()
                && s.logicalOffset() == covered
                && (covered != e.logicalOffset() || s.recordOffset() == e.recordOffset())
                && (e.kind() != RangeKind.DATA
                    || (s.logicalLength() == e.logicalLength()
                        && s.codec() == e.codec()
                        && s.storedLength() == e.storedLength()
                        && MessageDigest.isEqual(s.sha256(), e.sha256())));
        if (!same || s.logicalEnd() > end) {
          throw mismatch(covered);
        }
        covered = s.logicalEnd();
      }
    }
    if (i != seen.size()) {
      throw mismatch(covered);
    }
  }

  private ImageFormatException mismatch(long offset) {
    return new ImageDamagedException(
        where
            + ": the records disagree with the index at disk offset "
            + offset
            + ": the image is damaged (copy it again)");
  }

  private byte[] readN(int n, String what) throws IOException {
    byte[] b = new byte[n];
    try {
      in.readFully(b);
    } catch (EOFException e) {
      throw truncated(what);
    }
    position += n;
    return b;
  }

  private ImageDamagedException truncated(String what) {
    return new ImageDamagedException(
        where + " ended in " + what + " at byte " + position + ": the image is truncated");
  }
}
