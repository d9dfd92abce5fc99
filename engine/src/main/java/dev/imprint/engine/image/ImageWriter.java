package dev.imprint.engine.image;

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
 */
public final class ImageWriter implements Closeable {
  private static final byte[] NO_HASH = new byte[32];

  private final Path output;
  private final Path temp;
  private final FileChannel out;
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
    this.header = header;
    this.headerBytes = header.encode();
    write(ByteBuffer.wrap(headerBytes));
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
    out.force(true);
    out.close();
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
    ByteBuffer b = ByteBuffer.wrap(hb);
    long p = 0;
    while (b.hasRemaining()) {
      p += out.write(b, p);
    }
    header = h;
    headerBytes = hb;
  }

  private void write(ByteBuffer b) throws IOException {
    try {
      while (b.hasRemaining()) {
        position += out.write(b);
      }
    } catch (IOException e) {
      String msg = String.valueOf(e.getMessage());
      if (msg.contains("No space left")) {
        throw new IOException(
            "the disk holding "
                + output.getParent()
                + " is full after "
                + position
                + " bytes of the image: free space or choose another --output");
      }
      throw new IOException("cannot write " + temp + ": " + msg, e);
    }
  }

  /** Removes the partial file unless {@link #finish} completed. */
  @Override
  public void close() throws IOException {
    if (!finished) {
      out.close();
      Files.deleteIfExists(temp);
    }
  }

  /** Signs an image digest. */
  @FunctionalInterface
  public interface SignerFunction {
    Signature sign(byte[] digest) throws IOException;
  }
}
