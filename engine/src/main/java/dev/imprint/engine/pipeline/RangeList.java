package dev.imprint.engine.pipeline;

import dev.imprint.engine.image.RangeKind;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * What a restore wrote, for verification: one range per chunk, kept as three longs (offset, length
 * with the kind, xxHash64) in fixed blocks rather than one object each, so a disk of millions of
 * chunks costs 24 bytes a chunk. Adding is thread-safe; ranges come in any order until {@link
 * #sort}.
 */
public final class RangeList extends AbstractList<Chunk.Range> implements RandomAccess {
  private static final int BLOCK = 1 << 13;
  private static final int KIND_SHIFT = 62;
  private static final long LENGTH_MASK = (1L << KIND_SHIFT) - 1;
  private static final RangeKind[] KINDS = RangeKind.values();

  private final List<long[]> blocks = new ArrayList<>();
  private int size;

  /** Adds a range without a SHA-256 (the pipeline's ranges carry xxHash64). */
  @Override
  public synchronized boolean add(Chunk.Range r) {
    if (r.sha256() != null || r.length() < 0 || r.length() > LENGTH_MASK) {
      throw new IllegalArgumentException("a range list keeps xxHash64 ranges only: " + r);
    }
    if (size % BLOCK == 0) {
      blocks.add(new long[3 * BLOCK]);
    }
    set(size++, r.offset(), r.length() | ((long) r.kind().ordinal() << KIND_SHIFT), r.xxh64());
    return true;
  }

  @Override
  public synchronized Chunk.Range get(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException(i);
    }
    long[] b = blocks.get(i / BLOCK);
    int at = 3 * (i % BLOCK);
    long lk = b[at + 1];
    return new Chunk.Range(
        b[at], lk & LENGTH_MASK, KINDS[(int) (lk >>> KIND_SHIFT)], b[at + 2], null);
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
    return blocks.get(i / BLOCK)[3 * (i % BLOCK)];
  }

  private void swap(int i, int j) {
    long[] a = blocks.get(i / BLOCK);
    long[] b = blocks.get(j / BLOCK);
    int x = 3 * (i % BLOCK);
    int y = 3 * (j % BLOCK);
    for (int k = 0; k < 3; k++) {
      long t = a[x + k];
      a[x + k] = b[y + k];
      b[y + k] = t;
    }
  }

  private void set(int i, long offset, long lengthAndKind, long xxh64) {
    long[] b = blocks.get(i / BLOCK);
    int at = 3 * (i % BLOCK);
    b[at] = offset;
    b[at + 1] = lengthAndKind;
    b[at + 2] = xxh64;
  }
}
