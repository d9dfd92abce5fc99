package dev.imprint.engine.filesystem;

import dev.imprint.engine.source.Extent;
import java.util.List;

/**
 * The used ranges of a volume, relative to its start, sorted and non-overlapping, and a short note
 * of how they were found (for {@code info}: "ext4 block bitmaps, 3 of 48 groups uninitialised").
 * Every byte outside {@code used} may hold anything after a restore.
 */
public record AllocationMap(String filesystem, long volumeLength, List<Extent> used, String how) {
  public AllocationMap {
    used = List.copyOf(used);
  }

  public long usedBytes() {
    long n = 0;
    for (Extent e : used) {
      n += e.length();
    }
    return n;
  }
}
