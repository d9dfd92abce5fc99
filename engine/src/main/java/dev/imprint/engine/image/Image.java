package dev.imprint.engine.image;

import dev.imprint.engine.codec.CodecException;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.TruncatedException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * An Imprint image opened for random access over any {@link RandomAccessInput} (a file, HTTP(S)
 * ranges): its metadata, read with at most two range reads from the end, and its chunks on demand.
 * An input that ends early is damage.
 */
public final class Image implements Closeable {
  /** The first read from the end fetches this much, which holds the metadata of most images. */
  static final int TAIL_GUESS = 1 << 20;

  private final RandomAccessInput reader;
  private final ImageMetadata metadata;

  private Image(RandomAccessInput reader, ImageMetadata metadata) {
    this.reader = reader;
    this.metadata = metadata;
  }

  public static Image open(RandomAccessInput reader) throws IOException {
    String where = reader.description();
    long len = reader.size();
    if (len < 16) {
      throw new ImageFormatException(where + " is too short to be an Imprint image");
    }
    ByteBuffer prefix = ByteBuffer.allocate(16);
    readFully(reader, prefix, 0);
    prefix.flip();
    int guess = (int) Math.min(len, TAIL_GUESS);
    ByteBuffer tail = ByteBuffer.allocate(guess);
    try {
      ImageHeader.lengthFromPrefix(prefix, where);
    } catch (ImageFormatException e) {
      byte[] magic = java.util.Arrays.copyOf(prefix.array(), 8);
      if (e instanceof ImageDamagedException
          || java.util.Arrays.equals(magic, ImageHeader.MAGIC)
          || len < Trailer.LENGTH) {
        throw e;
      }
      // A trailer at the end makes a wrong header magic damage, not "some other file".
      byte[] last = new byte[Trailer.LENGTH];
      readFully(reader, ByteBuffer.wrap(last), len - Trailer.LENGTH);
      if (Trailer.resembles(last, len)) {
        throw ImageDamagedException.field(
            where,
            "the header magic",
            ImageHeader.hex(magic),
            "is not IMPRINT\\0 though the file ends with an Imprint trailer");
      }
      throw e;
    }
    if (len < Trailer.LENGTH + 16) {
      throw new ImageDamagedException(
          where + " is truncated: it has no metadata at its end (copy it again)");
    }
    readFully(reader, tail, len - guess);
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
        throw ImageDamagedException.field(
            where, "the metadata", size + " bytes long", "is more than a reader can hold");
      }
      meta = ByteBuffer.allocate((int) size);
      readFully(reader, meta, metaStart);
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
    if (!ByteBuffer.wrap(header, 0, 16).equals(prefix.rewind())) {
      throw new ImageDamagedException(
          where
              + ": the header at byte 0 differs from its copy in the metadata: the image is"
              + " damaged (copy it again)");
    }
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

  /** What the image is read from. */
  public RandomAccessInput input() {
    return reader;
  }

  /** Bytes of the image file. */
  public long fileSize() {
    return reader.size();
  }

  /**
   * Reads raw bytes of the image file.
   *
   * @throws ImageDamagedException the file ends first: the image is truncated
   */
  public void readFully(ByteBuffer dst, long position) throws IOException {
    readFully(reader, dst, position);
  }

  private static void readFully(RandomAccessInput in, ByteBuffer dst, long position)
      throws IOException {
    try {
      in.readFully(dst, position);
    } catch (TruncatedException e) {
      throw new ImageDamagedException(e.message("the image is truncated (copy it again)"));
    }
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
    readFully(reader, b, e.recordOffset());
    b.flip();
    RecordHeader r = RecordHeader.decode(b, e.recordOffset());
    if (r.type() != e.kind().id
        || r.codec() != e.codec()
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
