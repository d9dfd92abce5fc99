package dev.imprint.engine.image;

import dev.imprint.engine.codec.CodecException;
import dev.imprint.engine.hash.Sha256;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * An Imprint image opened for random access: its metadata, read with at most two range reads from
 * the end, and its chunks on demand.
 */
public final class Image implements Closeable {
  /** The first read from the end fetches this much, which holds the metadata of most images. */
  static final int TAIL_GUESS = 1 << 20;

  private final RangeReader reader;
  private final ImageMetadata metadata;

  private Image(RangeReader reader, ImageMetadata metadata) {
    this.reader = reader;
    this.metadata = metadata;
  }

  public static Image open(RangeReader reader) throws IOException {
    String where = reader.description();
    long len = reader.length();
    if (len < 16) {
      throw new ImageFormatException(where + " is too short to be an Imprint image");
    }
    ByteBuffer prefix = ByteBuffer.allocate(16);
    reader.readFully(prefix, 0);
    ImageHeader.lengthFromPrefix(prefix.flip(), where);
    if (len < Trailer.LENGTH + 16) {
      throw new ImageFormatException(where + " is truncated: it has no metadata at its end");
    }
    int guess = (int) Math.min(len, TAIL_GUESS);
    ByteBuffer tail = ByteBuffer.allocate(guess);
    reader.readFully(tail, len - guess);
    tail.flip();
    Trailer t = Trailer.decode(tail.duplicate().position(guess - Trailer.LENGTH), len, where);
    long metaStart = t.metadataOffset();
    long metaEnd = t.signaturesOffset() + t.signaturesLength();
    ByteBuffer meta;
    if (metaStart >= len - guess) {
      meta = tail.duplicate().position((int) (metaStart - (len - guess)));
    } else {
      long size = metaEnd - metaStart;
      if (size > Integer.MAX_VALUE - 16) {
        throw new ImageFormatException(where + ": metadata too large (the image is damaged)");
      }
      meta = ByteBuffer.allocate((int) size);
      reader.readFully(meta, metaStart);
      meta.flip();
    }
    byte[] header = new byte[t.headerLength()];
    byte[] index = new byte[(int) t.indexLength()];
    byte[] sigs = new byte[t.signaturesLength()];
    ByteBuffer m = meta.duplicate();
    m.get(header).get(index);
    m.position(
        m.position() + (int) (t.signaturesOffset() - (metaStart + header.length + index.length)));
    m.get(sigs);
    // The body ends where the END record starts.
    long bodyEnd = metaStart - RecordHeader.LENGTH;
    ImageMetadata md = ImageMetadata.decode(header, index, sigs, t.digest(), bodyEnd, where);
    return new Image(reader, md);
  }

  public ImageMetadata metadata() {
    return metadata;
  }

  public ImageHeader header() {
    return metadata.header();
  }

  public String description() {
    return reader.description();
  }

  public RangeReader reader() {
    return reader;
  }

  /**
   * Reads a data entry's record (header and payload) into a fresh buffer sized for it, checks the
   * record header against the index, and returns the payload (position..limit).
   */
  public ByteBuffer readStored(int entryNumber, ByteBuffer scratch) throws IOException {
    IndexEntry e = metadata.index().get(entryNumber);
    int total = RecordHeader.LENGTH + e.storedLength();
    ByteBuffer b = scratch;
    if (b == null || b.capacity() < total) {
      b = ByteBuffer.allocateDirect(total);
    }
    b.clear().limit(total);
    reader.readFully(b, e.recordOffset());
    b.flip();
    RecordHeader r = RecordHeader.decode(b, e.recordOffset());
    if (r.type() != e.kind().id
        || r.logicalOffset() != e.logicalOffset()
        || r.logicalLength() != e.logicalLength()
        || r.storedLength() != e.storedLength()
        || !MessageDigest.isEqual(r.sha256(), e.sha256())) {
      throw new ChunkDamagedException(
          description(), entryNumber, e.logicalOffset(), "its record disagrees with the index");
    }
    b.position(RecordHeader.LENGTH);
    return b;
  }

  /**
   * Decompresses a stored payload into {@code out} (which needs logicalLength bytes remaining) and
   * checks its SHA-256. Leaves out's position after the chunk.
   */
  public static void decode(
      IndexEntry e, long chunkNumber, ByteBuffer stored, ByteBuffer out, String where)
      throws ChunkDamagedException {
    int start = out.position();
    try {
      e.codec().decompress(stored, out, (int) e.logicalLength());
    } catch (CodecException ex) {
      throw new ChunkDamagedException(where, chunkNumber, e.logicalOffset(), ex.getMessage());
    }
    ByteBuffer written = out.duplicate().position(start).limit(out.position());
    if (!MessageDigest.isEqual(Sha256.of(written), e.sha256())) {
      throw new ChunkDamagedException(
          where, chunkNumber, e.logicalOffset(), "its SHA-256 does not match");
    }
  }

  @Override
  public void close() throws IOException {
    reader.close();
  }
}
