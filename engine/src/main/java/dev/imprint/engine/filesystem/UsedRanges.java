package dev.imprint.engine.filesystem;

import dev.imprint.engine.source.Extent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Collects used byte ranges in any order, then sorts, merges overlapping and adjacent ones, and
 * clips them to the volume. Readers add runs straight from their bitmaps; bitmaps of large volumes
 * give millions of runs, so the ranges live in primitive arrays.
 */
final class UsedRanges {
  private final long volumeLength;
  private long[] starts = new long[64];
  private long[] ends = new long[64];
  private int count;
  private long lastEnd = -1;

  UsedRanges(long volumeLength) {
    this.volumeLength = volumeLength;
  }

  /** Marks [offset, offset + length) used; empty and out-of-volume parts are dropped. */
  void add(long offset, long length) {
    long start = Math.max(0, offset);
    long end = Math.min(volumeLength, offset + length);
    if (end <= start) {
      return;
    }
    // Bitmap walks add in ascending order: extend the last run instead of storing a new one.
    if (count > 0 && start >= starts[count - 1] && start <= lastEnd) {
      if (end > lastEnd) {
        lastEnd = end;
        ends[count - 1] = end;
      }
      return;
    }
    if (count == starts.length) {
      starts = Arrays.copyOf(starts, count * 2);
      ends = Arrays.copyOf(ends, count * 2);
    }
    starts[count] = start;
    ends[count] = end;
    count++;
    lastEnd = end;
  }

  /** The ranges, sorted, with overlapping and touching runs merged. */
  List<Extent> extents() {
    Integer[] order = new Integer[count];
    for (int i = 0; i < count; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Long.compare(starts[a], starts[b]));
    List<Extent> out = new ArrayList<>();
    long curStart = -1;
    long curEnd = -1;
    for (int i : order) {
      if (curEnd >= 0 && starts[i] <= curEnd) {
        curEnd = Math.max(curEnd, ends[i]);
        continue;
      }
      if (curEnd >= 0) {
        out.add(new Extent(curStart, curEnd - curStart));
      }
      curStart = starts[i];
      curEnd = ends[i];
    }
    if (curEnd >= 0) {
      out.add(new Extent(curStart, curEnd - curStart));
    }
    return out;
  }

  /**
   * Marks the set bits of a bitmap as used: bit {@code i} (LSB first in each byte, as ext4 and NTFS
   * store them) is unit {@code firstUnit + i} of {@code unitBytes} bytes. Only the first {@code
   * bits} bits count.
   */
  void addBitmap(byte[] bitmap, int from, long bits, long firstUnit, long unitBytes) {
    long runStart = -1;
    for (long i = 0; i < bits; i++) {
      int b = bitmap[from + (int) (i >>> 3)];
      if (b == 0 && (i & 7) == 0 && i + 8 <= bits) {
        // A whole free byte: close any run and skip it.
        if (runStart >= 0) {
          add((firstUnit + runStart) * unitBytes, (i - runStart) * unitBytes);
          runStart = -1;
        }
        i += 7;
        continue;
      }
      if (b == -1 && (i & 7) == 0 && i + 8 <= bits) {
        if (runStart < 0) {
          runStart = i;
        }
        i += 7;
        continue;
      }
      boolean set = ((b >>> (i & 7)) & 1) != 0;
      if (set && runStart < 0) {
        runStart = i;
      } else if (!set && runStart >= 0) {
        add((firstUnit + runStart) * unitBytes, (i - runStart) * unitBytes);
        runStart = -1;
      }
    }
    if (runStart >= 0) {
      add((firstUnit + runStart) * unitBytes, (bits - runStart) * unitBytes);
    }
  }
}
