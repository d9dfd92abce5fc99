package dev.imprint.engine.image;

import dev.imprint.engine.codec.CodecException;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.TruncatedException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

/**
 * An Imprint image opened for random access over any {@link RandomAccessInput} (a file, HTTP(S)
 * ranges): its metadata, read with at most two range reads from the end, and its chunks on demand.
 * An input that ends early is damage.
 */
public final class Image implements Closeable {
  /** The first read from the end fetches this much, which holds the metadata of most images. */
  static final int TAIL_GUESS = 1 << 20;

  /** A large index is read in pieces of this many bytes (a multiple of an entry's 64). */
  static final int INDEX_PIECE = 8 << 20;

  /** Metadata up to this size is fetched in one read; a larger index is mapped or streamed. */
  static final int META_IN_ONE_READ = 16 << 20;

  /** The most signatures a signature block may hold (as a pipe reader allows). */
  static final int MAX_SIGNATURES = 1024;

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
    if (t.headerLength() > ImageHeader.MAX_LENGTH) {
      throw ImageDamagedException.field(
          where, "the trailer's header length", t.headerLength(), "is more than a header can be");
    }
    if (t.signaturesLength() > 8 + MAX_SIGNATURES * Signature.LENGTH) {
      throw ImageDamagedException.field(
          where,
          "the trailer's signature block length",
          t.signaturesLength(),
          "is more than " + MAX_SIGNATURES + " signatures take");
    }
    long indexStart = metaStart + t.headerLength();
    long entriesLength = t.indexLength() - ImageMetadata.INDEX_PREFIX;
    if (entriesLength < 0
        || entriesLength % IndexEntry.LENGTH != 0
        || entriesLength / IndexEntry.LENGTH > Integer.MAX_VALUE - 8) {
      throw ImageDamagedException.field(
          where,
          "the trailer's index length",
          t.indexLength(),
          "is not 8 bytes plus whole 64-byte entries");
    }
    // The metadata in memory: in the tail already read, or in one more read unless it is large.
    ByteBuffer meta = tail;
    long metaBase = len - guess;
    long metaEnd = t.signaturesOffset() + t.signaturesLength();
    if (metaStart < metaBase && metaEnd - metaStart <= META_IN_ONE_READ) {
      meta = ByteBuffer.allocate((int) (metaEnd - metaStart));
      readFully(reader, meta, metaStart);
      meta.flip();
      metaBase = metaStart;
    }
    Region r = new Region(reader, meta, metaBase);
    byte[] header = r.bytes(metaStart, t.headerLength());
    byte[] indexPrefix = r.bytes(indexStart, ImageMetadata.INDEX_PREFIX);
    IndexTable entries = r.entries(indexStart + ImageMetadata.INDEX_PREFIX, entriesLength);
    byte[] sigs = r.bytes(t.signaturesOffset(), t.signaturesLength());
    if (!ByteBuffer.wrap(header, 0, 16).equals(prefix.rewind())) {
      throw new ImageDamagedException(
          where
              + ": the header at byte 0 differs from its copy in the metadata: the image is"
              + " damaged (copy it again)");
    }
    // The body ends where the END record starts.
    long bodyEnd = metaStart - RecordHeader.LENGTH;
    ImageMetadata md =
        ImageMetadata.decode(header, indexPrefix, entries, sigs, t.digest(), bodyEnd, where);
    return new Image(reader, md);
  }

  /**
   * Parts of the metadata: from {@code meta} (at file offset {@code base}) when there, else read.
   */
  private record Region(RandomAccessInput reader, ByteBuffer meta, long base) {
    byte[] bytes(long at, int length) throws IOException {
      byte[] out = new byte[length];
      if (at >= base && at + length <= base + meta.limit()) {
        meta.duplicate().position((int) (at - base)).get(out);
      } else {
        Image.readFully(reader, ByteBuffer.wrap(out), at);
      }
      return out;
    }

    /**
     * Index entries: copied from {@code meta} when there; from a local file, mapped in place;
     * otherwise read in pieces into an {@link IndexTable.Builder}, which spools a large index to a
     * temporary file. Never a large index whole on the heap.
     */
    IndexTable entries(long at, long length) throws IOException {
      if (at >= base && at + length <= base + meta.limit()) {
        int from = (int) (at - base);
        return IndexTable.of(meta.duplicate().position(from).limit(from + (int) length));
      }
      if (reader instanceof RandomAccessDisk d && !d.isBlockDevice() && d.localPath().isPresent()) {
        // A local image: the index is mapped in place (the mapping outlives the channel).
        try (FileChannel c = FileChannel.open(d.localPath().get(), StandardOpenOption.READ)) {
          return IndexTable.map(c, at, length);
        }
      }
      IndexTable.Builder b = new IndexTable.Builder();
      // Off the heap: 8 MiB would be a humongous allocation in a small one.
      ByteBuffer piece = ByteBuffer.allocateDirect(INDEX_PIECE);
      for (long done = 0; done < length; ) {
        int n = (int) Math.min(INDEX_PIECE, length - done);
        piece.clear().limit(n);
        Image.readFully(reader, piece, at + done);
        b.appendEncoded(piece.flip());
        done += n;
      }
      return b.build();
    }
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
