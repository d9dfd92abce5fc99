package dev.imprint.engine.pipeline;

import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * What a restore wrote, for verification: one range per chunk, kept as three longs (offset, length
 * with the kind, xxHash64) in fixed blocks rather than one object each. The first blocks are on the
 * heap; beyond them blocks are mapped from an unlinked temporary file, so the heap does not grow
 * with the number of chunks (the page cache holds them, and can drop them). Adding is thread-safe;
 * ranges come in any order until {@link #sort}.
 */
public final class RangeList extends AbstractList<Chunk.Range> implements RandomAccess {
  /**
   * Ranges per block: 384 KiB, under half of G1's smallest region, so a heap block is an ordinary
   * allocation (larger ones were humongous and fragmented a small heap).
   */
  static final int BLOCK = 1 << 14;

  /** Blocks kept on the heap (3 MiB in all) before they go to a temporary file. */
  static final int HEAP_BLOCKS = 8;

  private static final int KIND_SHIFT = 62;
  private static final long LENGTH_MASK = (1L << KIND_SHIFT) - 1;
  private static final RangeKind[] KINDS = RangeKind.values();

  private final List<LongBuffer> blocks = new ArrayList<>();
  private FileChannel spool;
  private int size;

  /** Adds a range without a SHA-256 (the pipeline's ranges carry xxHash64). */
  @Override
  public synchronized boolean add(Chunk.Range r) {
    if (r.sha256() != null || r.length() < 0 || r.length() > LENGTH_MASK) {
      throw new IllegalArgumentException("a range list keeps xxHash64 ranges only: " + r);
    }
    if (size % BLOCK == 0) {
      blocks.add(newBlock());
    }
    set(size++, r.offset(), r.length() | ((long) r.kind().ordinal() << KIND_SHIFT), r.xxh64());
    return true;
  }

  @Override
  public synchronized Chunk.Range get(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException(i);
    }
    LongBuffer b = blocks.get(i / BLOCK);
    int at = 3 * (i % BLOCK);
    long lk = b.get(at + 1);
    return new Chunk.Range(
        b.get(at), lk & LENGTH_MASK, KINDS[(int) (lk >>> KIND_SHIFT)], b.get(at + 2), null);
  }

  @Override
  public synchronized int size() {
    return size;
  }

  /** Sorts by offset, in place (heapsort: no second copy of a large list). */
  public synchronized void sort() {
    boolean sorted = true;
    for (int i = 1; i < size && sorted; i++) {
      sorted = offset(i - 1) <= offset(i);
    }
    if (sorted) {
      return;
    }
    for (int i = size / 2 - 1; i >= 0; i--) {
      siftDown(i, size);
    }
    for (int end = size - 1; end > 0; end--) {
      swap(0, end);
      siftDown(0, end);
    }
  }

  private void siftDown(int i, int end) {
    while (true) {
      int child = 2 * i + 1;
      if (child >= end) {
        return;
      }
      if (child + 1 < end && offset(child + 1) > offset(child)) {
        child++;
      }
      if (offset(i) >= offset(child)) {
        return;
      }
      swap(i, child);
      i = child;
    }
  }

  private long offset(int i) {
    return blocks.get(i / BLOCK).get(3 * (i % BLOCK));
  }

  private void swap(int i, int j) {
    LongBuffer a = blocks.get(i / BLOCK);
    LongBuffer b = blocks.get(j / BLOCK);
    int x = 3 * (i % BLOCK);
    int y = 3 * (j % BLOCK);
    for (int k = 0; k < 3; k++) {
      long t = a.get(x + k);
      a.put(x + k, b.get(y + k));
      b.put(y + k, t);
    }
  }

  private void set(int i, long offset, long lengthAndKind, long xxh64) {
    LongBuffer b = blocks.get(i / BLOCK);
    int at = 3 * (i % BLOCK);
    b.put(at, offset);
    b.put(at + 1, lengthAndKind);
    b.put(at + 2, xxh64);
  }

  private LongBuffer newBlock() {
    if (blocks.size() >= HEAP_BLOCKS) {
      try {
        if (spool == null) {
          Path p = Files.createTempFile("imprint-ranges", ".tmp");
          try {
            spool = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
          } finally {
            Files.deleteIfExists(p);
          }
        }
        long bytes = 3L * 8 * BLOCK;
        long at = (blocks.size() - HEAP_BLOCKS) * bytes;
        // Mapping past the end grows the (unlinked) file; the mapping outlives the channel.
        return spool.map(FileChannel.MapMode.READ_WRITE, at, bytes).asLongBuffer();
      } catch (IOException e) {
        // No usable temporary directory: the heap it is.
      }
    }
    return LongBuffer.allocate(3 * BLOCK);
  }
}
