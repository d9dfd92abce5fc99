package dev.imprint.engine.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * An image's index entries kept as they are encoded (docs/FORMAT.md, "Index": 64 bytes each) and
 * decoded one at a time when asked, so the heap holds no object per entry. A small index lives on
 * the heap; a large one is mapped from the image file itself or, from a pipe or HTTP, from an
 * unlinked temporary file it was spooled to. Immutable.
 */
public final class IndexTable extends AbstractList<IndexEntry> implements RandomAccess {
  /** Entries per mapped segment: 1 GiB, below a buffer's 2 GiB limit. */
  static final int MAPPED_SEGMENT = 1 << 24;

  /**
   * Entries per heap block: 256 KiB. Under half of G1's smallest region (1 MiB), so a block is an
   * ordinary allocation: 1 MiB blocks were humongous, took two regions each and, in a 32 MiB heap,
   * fragmented it until an allocation failed with most of the heap free.
   */
  static final int HEAP_BLOCK = 1 << 12;

  /** Above this many bytes a builder spools to a temporary file instead of the heap. */
  static final long HEAP_LIMIT = 4L << 20;

  private final ByteBuffer[] segments;
  private final int perSegment;
  private final int size;

  private IndexTable(ByteBuffer[] segments, int perSegment, int size) {
    this.segments = segments;
    this.perSegment = perSegment;
    this.size = size;
  }

  /** The entries encoded in {@code bytes} (position to limit, a multiple of 64), copied. */
  public static IndexTable of(ByteBuffer bytes) {
    Builder b = new Builder();
    b.appendEncoded(bytes.duplicate());
    return b.build();
  }

  /** Entries encoded in {@code [offset, offset + length)} of a file, mapped read-only. */
  static IndexTable map(FileChannel file, long offset, long length) throws IOException {
    long count = length / IndexEntry.LENGTH;
    if (count > Integer.MAX_VALUE - 8) {
      throw new IOException("index too large");
    }
    int n = (int) count;
    ByteBuffer[] segs = new ByteBuffer[(n + MAPPED_SEGMENT - 1) / MAPPED_SEGMENT];
    for (int s = 0; s < segs.length; s++) {
      long from = (long) s * MAPPED_SEGMENT;
      long entries = Math.min(MAPPED_SEGMENT, n - from);
      segs[s] =
          file.map(
              FileChannel.MapMode.READ_ONLY,
              offset + from * IndexEntry.LENGTH,
              entries * IndexEntry.LENGTH);
    }
    return new IndexTable(segs, MAPPED_SEGMENT, n);
  }

  @Override
  public int size() {
    return size;
  }

  /** Entry {@code i}; a damaged entry fails unchecked (use {@link #entry} to check). */
  @Override
  public IndexEntry get(int i) {
    try {
      return entry(i);
    } catch (ImageFormatException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Entry {@code i}, decoded. */
  public IndexEntry entry(int i) throws ImageFormatException {
    return entry(i, "index entry " + i);
  }

  /** Entry {@code i}, decoded; {@code where} names it in a damage message. */
  public IndexEntry entry(int i, String where) throws ImageFormatException {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException(i);
    }
    ByteBuffer b =
        segments[i / perSegment]
            .duplicate()
            .order(ByteOrder.LITTLE_ENDIAN)
            .position((i % perSegment) * IndexEntry.LENGTH);
    return IndexEntry.decode(b, where);
  }

  /** The encoded entries, in order, as buffers to read (for digests and writing). */
  public List<ByteBuffer> encoded() {
    List<ByteBuffer> out = new ArrayList<>(segments.length);
    for (int s = 0; s < segments.length; s++) {
      int entries = Math.min(perSegment, size - s * perSegment);
      out.add(segments[s].duplicate().position(0).limit(entries * IndexEntry.LENGTH));
    }
    return out;
  }

  /**
   * Collects entries as they come (a writer's, a pipe's): on the heap while small, then in an
   * unlinked temporary file. The last entry stays open to replacement until the next one comes.
   */
  public static final class Builder {
    private final List<ByteBuffer> blocks = new ArrayList<>();
    private FileChannel spool;
    private int size;
    private IndexEntry last;

    /** Adds an entry after the others. */
    public void add(IndexEntry e) {
      if (last != null) {
        put(last);
      }
      last = e;
    }

    /** The last entry added, or null. */
    public IndexEntry last() {
      return last;
    }

    /** Replaces the last entry (a run of empty chunks grows). */
    public void setLast(IndexEntry e) {
      if (last == null) {
        throw new IllegalStateException("no entry to replace");
      }
      last = e;
    }

    /** Entries added so far. */
    public int size() {
      return size + (last != null ? 1 : 0);
    }

    /** Adds entries already encoded (position to limit, a multiple of 64 bytes). */
    public void appendEncoded(ByteBuffer encoded) {
      if (last != null) {
        put(last);
        last = null;
      }
      if (encoded.remaining() % IndexEntry.LENGTH != 0) {
        throw new IllegalArgumentException("not whole index entries");
      }
      while (encoded.hasRemaining()) {
        ByteBuffer block = block();
        int n = Math.min(block.remaining(), encoded.remaining());
        block.put(encoded.duplicate().limit(encoded.position() + n));
        encoded.position(encoded.position() + n);
        size += n / IndexEntry.LENGTH;
      }
    }

    private void put(IndexEntry e) {
      e.encode(block());
      size++;
    }

    /** The block being filled, with room for at least one entry. */
    private ByteBuffer block() {
      ByteBuffer b = blocks.isEmpty() ? null : blocks.get(blocks.size() - 1);
      if (b != null && b.hasRemaining()) {
        return b;
      }
      if (b != null && spool == null && (long) blocks.size() * b.capacity() >= HEAP_LIMIT) {
        startSpool();
      }
      if (spool != null && b != null) {
        writeSpool(b);
        blocks.clear();
      }
      b = ByteBuffer.allocate(HEAP_BLOCK * IndexEntry.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
      blocks.add(b);
      return b;
    }

    private void startSpool() {
      try {
        Path p = Files.createTempFile("imprint-index", ".tmp");
        try {
          spool = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } finally {
          Files.deleteIfExists(p);
        }
        for (ByteBuffer b : blocks.subList(0, blocks.size() - 1)) {
          writeSpool(b);
        }
        blocks.subList(0, blocks.size() - 1).clear();
      } catch (IOException e) {
        // No usable temporary directory: the heap it is.
        spool = null;
      }
    }

    private void writeSpool(ByteBuffer block) {
      ByteBuffer b = block.duplicate().flip();
      try {
        while (b.hasRemaining()) {
          spool.write(b, spool.size());
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot spool the image index to a temporary file", e);
      }
    }

    /** The entries; the builder is done. */
    public IndexTable build() {
      if (last != null) {
        put(last);
        last = null;
      }
      if (spool != null) {
        try (FileChannel f = spool) {
          for (ByteBuffer b : blocks) {
            writeSpool(b);
          }
          blocks.clear();
          // The mapping outlives the channel and the (already unlinked) file name.
          return map(f, 0, (long) size * IndexEntry.LENGTH);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot map the spooled image index", e);
        }
      }
      ByteBuffer[] segs = new ByteBuffer[blocks.size()];
      for (int i = 0; i < segs.length; i++) {
        segs[i] = blocks.get(i).duplicate().flip().slice().asReadOnlyBuffer();
      }
      return new IndexTable(segs, HEAP_BLOCK, size);
    }
  }
}
