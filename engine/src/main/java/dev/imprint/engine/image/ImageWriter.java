package dev.imprint.engine.image;

import com.sun.nio.file.ExtendedOpenOption;
import dev.imprint.engine.codec.Codec;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes an image front to back: header, records in logical order, END, metadata, trailer. The file
 * is written under a temporary name and renamed when complete, so a failed create never leaves a
 * half image under the requested name.
 *
 * <p>Bytes are gathered in an aligned buffer and written with O_DIRECT where the filesystem allows
 * it: going through the page cache cost a kernel copy of every byte (about 1 CPU-s per 1.5 GB
 * here), then background writeback, then waiting for all of it in the final fsync anyway.
 */
public final class ImageWriter implements Closeable {
  private static final byte[] NO_HASH = new byte[32];

  /** Bytes gathered before one write: large enough that the device streams. */
  private static final int STAGE = 8 << 20;

  private final Path output;
  private final Path temp;

  /** Opened normally: small rewrites, truncate, fsync; and all writes when O_DIRECT is refused. */
  private final FileChannel out;

  /** The same file opened with O_DIRECT, or null. */
  private FileChannel direct;

  /** O_DIRECT's unit: file offsets, lengths and buffer addresses are multiples of it. */
  private final int align;

  /** Bytes not yet written, which belong at file offset {@link #flushed}. */
  private final ByteBuffer stage;

  private long flushed;
  private ImageHeader header;
  private byte[] headerBytes;
  private final IndexTable.Builder index = new IndexTable.Builder();
  private long position;
  private long logicalEnd;
  private boolean finished;

  private ImageWriter(Path output, Path temp, FileChannel out, ImageHeader header)
      throws IOException {
    this.output = output;
    this.temp = temp;
    this.out = out;
    this.align = directAlignment(temp);
    this.direct = align > 0 ? openDirect(temp) : null;
    this.stage = ByteBuffer.allocateDirect(STAGE + 4096).alignedSlice(4096).limit(STAGE).slice();
    this.header = header;
    this.headerBytes = header.encode();
    write(ByteBuffer.wrap(headerBytes));
  }

  /** The filesystem's block size when it is a power of two that divides the stage, else 0. */
  private static int directAlignment(Path file) {
    try {
      long bs = Files.getFileStore(file).getBlockSize();
      return bs >= 512 && bs <= 4096 && Long.bitCount(bs) == 1 ? (int) Math.max(bs, 4096) : 0;
    } catch (IOException | UnsupportedOperationException e) {
      return 0;
    }
  }

  /** The file opened with O_DIRECT, or null where the filesystem refuses it (ramfs, some FUSE). */
  private static FileChannel openDirect(Path file) {
    try {
      return FileChannel.open(file, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  public static ImageWriter create(Path output, ImageHeader header) throws IOException {
    Path abs = output.toAbsolutePath();
    Path dir = abs.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw new IOException(
          "output directory " + dir + " does not exist: create it or choose another --output");
    }
    if (Files.isDirectory(abs)) {
      throw new IOException("output " + abs + " is a directory: give a file name");
    }
    Path temp = dir.resolve("." + abs.getFileName() + ".partial-" + ProcessHandle.current().pid());
    FileChannel ch;
    try {
      ch =
          FileChannel.open(
              temp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE);
    } catch (AccessDeniedException e) {
      throw new IOException("cannot write to " + dir + ": permission denied");
    } catch (NoSuchFileException e) {
      throw new IOException("output directory " + dir + " does not exist: create it");
    }
    try {
      return new ImageWriter(abs, temp, ch, header);
    } catch (IOException e) {
      ch.close();
      Files.deleteIfExists(temp);
      throw e;
    }
  }

  public ImageHeader header() {
    return header;
  }

  /** Bytes written so far. */
  public long position() {
    return position;
  }

  /** Appends one data chunk; chunks must come in logical order. */
  public void data(long offset, int length, Codec codec, byte[] sha256, ByteBuffer stored)
      throws IOException {
    expectAt(offset);
    int storedLength = stored.remaining();
    IndexEntry e =
        new IndexEntry(RangeKind.DATA, codec, offset, length, position, storedLength, sha256);
    write(ByteBuffer.wrap(RecordHeader.of(e).encode()));
    write(stored);
    index.add(e);
    logicalEnd = offset + length;
  }

  public void zero(long offset, long length) throws IOException {
    empty(RangeKind.ZERO, offset, length);
  }

  public void unallocated(long offset, long length) throws IOException {
    empty(RangeKind.UNALLOCATED, offset, length);
  }

  private void empty(RangeKind kind, long offset, long length) throws IOException {
    expectAt(offset);
    if (length <= 0) {
      return;
    }
    IndexEntry prev = index.last();
    if (prev != null && prev.kind() == kind) {
      // Runs of empty chunks are one entry; the body record is only rewritten in the index.
      index.setLast(
          new IndexEntry(
              kind,
              Codec.NONE,
              prev.logicalOffset(),
              prev.logicalLength() + length,
              prev.recordOffset(),
              0,
              NO_HASH));
      write(
          ByteBuffer.wrap(
              new RecordHeader(kind.id, Codec.NONE, offset, length, 0, NO_HASH).encode()));
    } else {
      IndexEntry e = new IndexEntry(kind, Codec.NONE, offset, length, position, 0, NO_HASH);
      write(ByteBuffer.wrap(RecordHeader.of(e).encode()));
      index.add(e);
    }
    logicalEnd = offset + length;
  }

  private void expectAt(long offset) throws IOException {
    if (offset != logicalEnd) {
      throw new IllegalStateException("chunk at " + offset + " but the image is at " + logicalEnd);
    }
  }

  /**
   * Ends the body, writes metadata, signatures and trailer, syncs, and renames the file into place.
   *
   * @return the image's metadata
   */
  public ImageMetadata finish(List<Signature> presigned, SignerFunction signer) throws IOException {
    if (header.logicalSize() != logicalEnd) {
      // A pipe's length is known only at its end: the front header is rewritten in place.
      resize(logicalEnd);
    }
    if (logicalEnd != header.logicalSize()) {
      throw new IllegalStateException(
          "image covers " + logicalEnd + " of " + header.logicalSize() + " bytes");
    }
    write(
        ByteBuffer.wrap(
            new RecordHeader(RecordHeader.END, Codec.NONE, 0, index.size(), 0, NO_HASH).encode()));
    long metadataOffset = position;
    IndexTable entries = index.build();
    byte[] indexPrefix = ImageMetadata.indexPrefix(entries.size());
    byte[] digest = ImageMetadata.digestOf(headerBytes, indexPrefix, entries);
    List<Signature> sigs = new ArrayList<>(presigned);
    if (signer != null) {
      sigs.add(signer.sign(digest));
    }
    byte[] sigBytes = ImageMetadata.encodeSignatures(sigs);
    write(ByteBuffer.wrap(headerBytes));
    write(ByteBuffer.wrap(indexPrefix));
    for (ByteBuffer b : entries.encoded()) {
      write(b);
    }
    long sigOffset = position;
    write(ByteBuffer.wrap(sigBytes));
    Trailer t =
        new Trailer(
            header.major(),
            header.minor(),
            headerBytes.length,
            metadataOffset,
            indexPrefix.length + (long) entries.size() * IndexEntry.LENGTH,
            sigOffset,
            sigBytes.length,
            digest);
    write(ByteBuffer.wrap(t.encode()));
    drainTail();
    out.force(true);
    closeChannels();
    Files.move(temp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    finished = true;
    return new ImageMetadata(header, headerBytes, entries, sigs, digest);
  }

  private void resize(long size) throws IOException {
    ImageHeader h = header.withLogicalSize(size);
    byte[] hb = h.encode();
    if (hb.length != headerBytes.length) {
      throw new IllegalStateException("header length changed");
    }
    // The front of the header may already be in the file; the rest is still staged.
    int inFile = (int) Math.min(hb.length, flushed);
    ByteBuffer b = ByteBuffer.wrap(hb, 0, inFile);
    long p = 0;
    while (b.hasRemaining()) {
      p += out.write(b, p);
    }
    for (int i = inFile; i < hb.length; i++) {
      stage.put((int) (i - flushed), hb[i]);
    }
    header = h;
    headerBytes = hb;
  }

  /** Appends {@code b}'s remaining bytes (and consumes them). */
  private void write(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      int n = Math.min(b.remaining(), stage.remaining());
      stage.put(stage.position(), b, b.position(), n);
      stage.position(stage.position() + n);
      b.position(b.position() + n);
      position += n;
      if (!stage.hasRemaining()) {
        drain(STAGE);
      }
    }
  }

  /** Writes the first {@code n} staged bytes (a multiple of the alignment, or the last bytes). */
  private void drain(int n) throws IOException {
    ByteBuffer b = stage.duplicate().position(0).limit(n);
    try {
      if (direct != null) {
        try {
          writeAt(direct, b, flushed);
        } catch (IOException e) {
          if (flushed > 0 || b.position() > 0) {
            throw e;
          }
          // O_DIRECT opened but refused on the first write: the page cache still works.
          direct.close();
          direct = null;
          writeAt(out, b, flushed);
        }
      } else {
        writeAt(out, b, flushed);
      }
    } catch (IOException e) {
      throw failure(e);
    }
    flushed += n;
    stage.clear();
  }

  /**
   * Writes what is staged. O_DIRECT writes whole blocks, so the last one is padded with zeros and
   * the file cut back to its length.
   */
  private void drainTail() throws IOException {
    int n = stage.position();
    if (direct == null) {
      drain(n);
      return;
    }
    int padded = (n + align - 1) / align * align;
    stage.put(n, new byte[padded - n]);
    drain(padded);
    try {
      out.truncate(position);
    } catch (IOException e) {
      throw failure(e);
    }
    flushed = position;
  }

  private static void writeAt(FileChannel ch, ByteBuffer b, long at) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b, at + b.position());
    }
  }

  private IOException failure(IOException e) {
    String msg = String.valueOf(e.getMessage());
    if (msg.contains("No space left")) {
      return new IOException(
          "the disk holding "
              + output.getParent()
              + " is full after "
              + flushed
              + " bytes of the image: free space or choose another --output");
    }
    return new IOException("cannot write " + temp + ": " + msg, e);
  }

  private void closeChannels() throws IOException {
    try (FileChannel d = direct) {
      out.close();
    }
  }

  /** Removes the partial file unless {@link #finish} completed. */
  @Override
  public void close() throws IOException {
    if (!finished) {
      closeChannels();
      Files.deleteIfExists(temp);
    }
  }

  /** Signs an image digest. */
  @FunctionalInterface
  public interface SignerFunction {
    Signature sign(byte[] digest) throws IOException;
  }
}
