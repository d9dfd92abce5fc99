package dev.imprint.engine.partition;

import dev.imprint.engine.source.Extent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What a disk's partition table says, and what it got wrong.
 *
 * <p>{@link #tableRegions()} are the bytes no filesystem claims but a restore must copy (LBA 0 with
 * its boot code, the GPT headers and entry arrays, every EBR sector); {@link #bootGaps()} are the
 * unclaimed ranges between them and the partitions, where bootloaders hide (GRUB's core.img after
 * the MBR). A scheme of NONE with problems means a table was there but is unusable: treat the disk
 * as raw.
 *
 * @param diskSize bytes of the disk the table was read from
 * @param diskId GPT disk GUID; MBR 32-bit disk signature as 8 uppercase hex digits; "" for NONE
 * @param problems one sentence each; empty when the table is clean
 * @param firstUsableLba GPT only (0 otherwise)
 * @param lastUsableLba GPT only (0 otherwise)
 * @param entryCount GPT entry array slots (0 otherwise)
 * @param entrySize GPT bytes per entry (0 otherwise)
 * @param primaryEntriesLba GPT: where the primary entry array starts (0 otherwise)
 */
public record PartitionTable(
    PartitionScheme scheme,
    int sectorSize,
    long diskSize,
    String diskId,
    List<PartitionEntry> entries,
    List<String> problems,
    long firstUsableLba,
    long lastUsableLba,
    int entryCount,
    int entrySize,
    long primaryEntriesLba,
    List<Extent> tableRegions) {

  public PartitionTable {
    entries = List.copyOf(entries);
    problems = List.copyOf(problems);
    tableRegions = merge(tableRegions);
  }

  /** No usable table; {@code problems} says why, or is empty when there simply is none. */
  public static PartitionTable none(int sectorSize, long diskSize, List<String> problems) {
    return new PartitionTable(
        PartitionScheme.NONE,
        sectorSize,
        diskSize,
        "",
        List.of(),
        problems,
        0,
        0,
        0,
        0,
        0,
        List.of());
  }

  /**
   * The image's first region a {@link GptRelocation} needs: LBA 0 up to the end of the primary
   * entry array.
   *
   * @throws IllegalStateException for a non-GPT table
   */
  public Extent gptPrimaryRegion() {
    if (scheme != PartitionScheme.GPT) {
      throw new IllegalStateException("a " + scheme + " table has no GPT primary region");
    }
    long entriesSectors = GptHeader.sectorsFor((long) entryCount * entrySize, sectorSize);
    return new Extent(0, (primaryEntriesLba + entriesSectors) * sectorSize);
  }

  /**
   * Ranges below the end of the last partition that neither a partition nor a table structure
   * covers: the MBR gap, the space between partitions, the space between an EBR and its logical
   * partition. They may hold boot code, so the caller copies them raw. Space after the last
   * partition is left out: nothing boots from there, and it is often most of a disk. MBR extended
   * containers claim nothing. Empty for NONE (the caller copies the whole disk).
   */
  public List<Extent> bootGaps() {
    List<Extent> claimed = new ArrayList<>(tableRegions);
    long limit = 0;
    for (PartitionEntry e : entries) {
      if (e.isContainer() || e.length() == 0) {
        continue;
      }
      long start = Math.min(e.offset(), diskSize);
      long end = Math.min(e.end(), diskSize);
      if (end > start) {
        claimed.add(new Extent(start, end - start));
        limit = Math.max(limit, end);
      }
    }
    List<Extent> gaps = new ArrayList<>();
    long pos = 0;
    for (Extent c : merge(claimed)) {
      if (c.offset() >= limit) {
        break;
      }
      if (c.offset() > pos) {
        gaps.add(new Extent(pos, c.offset() - pos));
      }
      pos = Math.max(pos, c.end());
    }
    return List.copyOf(gaps);
  }

  /** Sorted, with overlapping and touching ranges joined. */
  private static List<Extent> merge(List<Extent> extents) {
    List<Extent> sorted = new ArrayList<>(extents);
    sorted.sort(Comparator.comparingLong(Extent::offset));
    List<Extent> merged = new ArrayList<>();
    for (Extent e : sorted) {
      if (e.length() == 0) {
        continue;
      }
      if (!merged.isEmpty() && merged.get(merged.size() - 1).end() >= e.offset()) {
        Extent last = merged.remove(merged.size() - 1);
        long end = Math.max(last.end(), e.end());
        merged.add(new Extent(last.offset(), end - last.offset()));
      } else {
        merged.add(e);
      }
    }
    return List.copyOf(merged);
  }
}
