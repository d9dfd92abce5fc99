package dev.imprint.engine.layout;

import dev.imprint.engine.filesystem.AllocationMap;
import dev.imprint.engine.filesystem.Filesystems;
import dev.imprint.engine.partition.Partition;
import dev.imprint.engine.partition.PartitionEntry;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.partition.PartitionTable;
import dev.imprint.engine.partition.PartitionTables;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Which bytes of a disk matter: its partition table, the partitions, and inside each partition the
 * blocks its filesystem uses. Only blocks that a filesystem we understand says are free are left
 * out; everything else (tables, boot gaps, unknown or damaged filesystems, LUKS, swap) is kept.
 *
 * @param used sorted, disjoint byte ranges to copy; null when everything is copied
 * @param notes one line per partition or problem, for {@code info} and {@code create}
 */
public record DiskLayout(
    PartitionScheme scheme, List<Partition> partitions, List<Extent> used, List<String> notes) {

  public DiskLayout {
    partitions = List.copyOf(partitions);
    notes = List.copyOf(notes);
  }

  /** Analyses a whole device (with its table) or, when {@code volume}, one filesystem. */
  public static DiskLayout analyze(RandomAccessDisk disk, boolean volume) throws IOException {
    long size = disk.size();
    List<String> notes = new ArrayList<>();
    PartitionTable table = null;
    if (!volume) {
      table = PartitionTables.read(disk);
      for (String p : table.problems()) {
        notes.add("partition table: " + p);
      }
    }
    if (table == null || table.scheme() == PartitionScheme.NONE) {
      if (table != null && !table.problems().isEmpty()) {
        notes.add("partition table unusable: copying the disk as raw (every non-zero block)");
        return new DiskLayout(PartitionScheme.NONE, List.of(), null, notes);
      }
      Filesystems.Analysis a = Filesystems.analyze(disk, 0, size);
      notes.add((volume ? "volume: " : "whole disk: ") + a.note());
      // Partition 0 is the volume itself: its filesystem and how it was read.
      List<Partition> self =
          List.of(
              new Partition(PartitionEntry.recorded(0, 0, size, "", ""), a.filesystem(), a.note()));
      return new DiskLayout(
          PartitionScheme.NONE, self, a.map().map(AllocationMap::used).orElse(null), notes);
    }
    List<Partition> parts = new ArrayList<>();
    List<Extent> unused = new ArrayList<>();
    for (PartitionEntry e : table.entries()) {
      if (e.isContainer()) {
        continue;
      }
      long len = Math.min(e.length(), Math.max(0, size - e.offset()));
      Filesystems.Analysis a = Filesystems.analyze(disk, e.offset(), len);
      parts.add(new Partition(e, a.filesystem(), a.note()));
      notes.add("partition " + e.number() + ": " + a.note());
      a.map().ifPresent(m -> unused.addAll(gaps(m, e.offset(), len)));
    }
    // Past the last partition only the table's own structures (the backup GPT) matter.
    long lastEnd = 0;
    for (PartitionEntry e : table.entries()) {
      lastEnd = Math.max(lastEnd, e.end());
    }
    if (lastEnd < size) {
      long at = lastEnd;
      for (Extent r : table.tableRegions()) {
        if (r.end() <= lastEnd) {
          continue;
        }
        if (r.offset() > at) {
          unused.add(new Extent(at, r.offset() - at));
        }
        at = Math.max(at, r.end());
      }
      if (at < size) {
        unused.add(new Extent(at, size - at));
      }
      notes.add("space after the last partition: not copied (only the table's backup is)");
    }
    return new DiskLayout(table.scheme(), parts, complement(unused, size), notes);
  }

  /**
   * The partition table alone, for a copy of every block ({@code --all-blocks}): no filesystem is
   * read, everything is copied, but the image still records the scheme and the partitions, so a
   * restore onto a larger disk moves the backup GPT to that disk's end.
   */
  public static DiskLayout tableOnly(RandomAccessDisk disk, boolean volume) throws IOException {
    if (volume) {
      return new DiskLayout(PartitionScheme.NONE, List.of(), null, List.of());
    }
    PartitionTable table = PartitionTables.read(disk);
    List<String> notes = new ArrayList<>();
    for (String p : table.problems()) {
      notes.add("partition table: " + p);
    }
    List<Partition> parts = new ArrayList<>();
    for (PartitionEntry e : table.entries()) {
      if (!e.isContainer()) {
        parts.add(new Partition(e, "", "every block copied (--all-blocks)"));
      }
    }
    return new DiskLayout(table.scheme(), parts, null, notes);
  }

  /** The free ranges of a partition's map, as disk offsets. */
  private static List<Extent> gaps(AllocationMap m, long base, long length) {
    List<Extent> out = new ArrayList<>();
    long at = 0;
    for (Extent u : m.used()) {
      if (u.offset() > at) {
        out.add(new Extent(base + at, u.offset() - at));
      }
      at = Math.max(at, u.end());
    }
    if (at < length) {
      out.add(new Extent(base + at, length - at));
    }
    return out;
  }

  /** [0, size) minus the unused ranges: whatever no filesystem called free is kept. */
  static List<Extent> complement(List<Extent> unused, long size) {
    List<Extent> sorted = new ArrayList<>(unused);
    sorted.sort((a, b) -> Long.compare(a.offset(), b.offset()));
    List<Extent> used = new ArrayList<>();
    long at = 0;
    for (Extent u : sorted) {
      long start = Math.min(u.offset(), size);
      if (start > at) {
        used.add(new Extent(at, start - at));
      }
      at = Math.max(at, Math.min(size, u.end()));
    }
    if (at < size) {
      used.add(new Extent(at, size - at));
    }
    return used;
  }

  public long usedBytes() {
    if (used == null) {
      return -1;
    }
    long n = 0;
    for (Extent e : used) {
      n += e.length();
    }
    return n;
  }
}
