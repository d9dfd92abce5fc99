package dev.imprint.engine.partition;

import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A GPT behind a protective MBR. The header's own sector size is found by looking for "EFI PART" at
 * LBA 1 in 512- and 4096-byte sectors, since an image of a 4Kn disk read from a file reports 512.
 * The primary (LBA 1) wins when its header and entry CRCs hold; otherwise the backup, which the
 * primary's AlternateLBA locates, or the disk's last LBA when the primary is unreadable. The backup
 * is checked either way: a restore rewrites it, but a stale one tells of a resized disk.
 */
final class GptReader {
  private static final int[] SECTOR_SIZES = {512, 4096};

  /** A header whose entry array was read and matched its CRC. */
  record Loaded(GptHeader header, byte[] entries, long lba) {}

  private GptReader() {}

  static PartitionTable read(RandomAccessDisk disk) throws IOException {
    List<String> problems = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    for (int ss : sectorSizes(disk)) {
      if (!GptHeader.hasSignature(PartitionTables.read(disk, ss, ss))) {
        continue;
      }
      return readAt(disk, ss, problems);
    }
    // No primary header anywhere: a backup alone may still hold the table.
    for (int ss : sectorSizes(disk)) {
      long last = disk.size() / ss - 1;
      try {
        Loaded backup = load(disk, ss, last, "backup");
        problems.add("no primary GPT header at LBA 1; backup header used");
        return table(disk, ss, null, backup, problems);
      } catch (PartitionException e) {
        failures.add(e.getMessage() + " (" + ss + "-byte sectors)");
      }
    }
    List<String> why = new ArrayList<>();
    why.add("protective MBR (type 0xEE) but no GPT header at LBA 1");
    why.addAll(failures);
    return PartitionTable.none(disk.sectorSize(), disk.size(), why);
  }

  private static PartitionTable readAt(RandomAccessDisk disk, int ss, List<String> problems)
      throws IOException {
    GptHeader primaryHeader = null;
    Loaded primary = null;
    String primaryFailure = null;
    try {
      primaryHeader = header(disk, ss, 1, "primary");
      primary = entries(disk, ss, primaryHeader, 1, "primary");
    } catch (PartitionException e) {
      primaryFailure = e.getMessage();
    }
    long lastLba = disk.size() / ss - 1;
    Set<Long> backupLbas = new LinkedHashSet<>();
    if (primaryHeader != null) {
      backupLbas.add(primaryHeader.alternateLba);
    }
    backupLbas.add(lastLba);
    Loaded backup = null;
    String backupFailure = null;
    for (long lba : backupLbas) {
      try {
        backup = load(disk, ss, lba, "backup");
        break;
      } catch (PartitionException e) {
        backupFailure = backupFailure == null ? e.getMessage() : backupFailure;
      }
    }
    if (primary != null) {
      if (backup == null) {
        problems.add(backupFailure + "; the primary is intact and was used");
      } else if (!primary.header().sameTableAs(backup.header())
          || !Arrays.equals(primary.entries(), backup.entries())) {
        problems.add("backup GPT differs from the primary; the primary was used");
      }
      if (primary.header().alternateLba != lastLba) {
        problems.add(
            "primary GPT header puts the backup at LBA "
                + primary.header().alternateLba
                + ", not at the disk's last LBA "
                + lastLba
                + " (disk resized or image truncated?)");
      }
      return table(disk, ss, primary, backup, problems);
    }
    if (backup != null) {
      problems.add(primaryFailure + "; backup header used");
      return table(disk, ss, null, backup, problems);
    }
    return PartitionTable.none(
        disk.sectorSize(),
        disk.size(),
        List.of(primaryFailure, backupFailure + "; no usable GPT remains"));
  }

  private static PartitionTable table(
      RandomAccessDisk disk, int ss, Loaded primary, Loaded backup, List<String> problems) {
    Loaded used = primary != null ? primary : backup;
    GptHeader h = used.header();
    long size = disk.size();
    List<PartitionEntry> entries = new ArrayList<>();
    for (GptEntryArray.Slot s : GptEntryArray.slots(used.entries(), h.entryCount, h.entrySize)) {
      String who = GptEntryArray.describe(s.number(), s.name());
      if (s.lastLba() < s.firstLba() || s.firstLba() < 0) {
        problems.add(
            who + " ends (LBA " + s.lastLba() + ") before it starts (LBA " + s.firstLba() + ")");
        continue;
      }
      if (s.firstLba() < h.firstUsableLba || s.lastLba() > h.lastUsableLba) {
        problems.add(
            who
                + " (LBA "
                + s.firstLba()
                + "–"
                + s.lastLba()
                + ") lies outside the usable LBAs "
                + h.firstUsableLba
                + "–"
                + h.lastUsableLba);
      }
      entries.add(GptEntryArray.entry(used.entries(), s, ss));
    }
    problems.addAll(PartitionTables.layoutProblems(entries, size));

    long entriesSectors = h.entryArraySectors(ss);
    long primaryEntriesLba = primary != null ? primary.header().entryLba : 2;
    long backupLba = backup != null ? backup.lba() : h.alternateLba;
    long backupEntriesLba = backup != null ? backup.header().entryLba : backupLba - entriesSectors;
    List<Extent> regions = new ArrayList<>();
    addClipped(regions, 0, 2L * ss, size); // protective MBR and primary header
    addClipped(regions, primaryEntriesLba * ss, entriesSectors * ss, size);
    addClipped(regions, backupEntriesLba * ss, entriesSectors * ss, size);
    addClipped(regions, backupLba * ss, ss, size);
    return new PartitionTable(
        PartitionScheme.GPT,
        ss,
        size,
        h.diskGuid,
        entries,
        problems,
        h.firstUsableLba,
        h.lastUsableLba,
        h.entryCount,
        h.entrySize,
        primaryEntriesLba,
        regions);
  }

  private static void addClipped(List<Extent> regions, long offset, long length, long size) {
    if (offset >= 0 && offset < size && length > 0) {
      regions.add(new Extent(offset, Math.min(length, size - offset)));
    }
  }

  static Loaded load(RandomAccessDisk disk, int ss, long lba, String which)
      throws IOException, PartitionException {
    return entries(disk, ss, header(disk, ss, lba, which), lba, which);
  }

  private static GptHeader header(RandomAccessDisk disk, int ss, long lba, String which)
      throws IOException, PartitionException {
    if (lba < 1 || lba > disk.size() / ss - 1) {
      throw new PartitionException(
          which + " GPT header location LBA " + lba + " lies outside the disk");
    }
    byte[] sector = PartitionTables.read(disk, lba * ss, ss);
    GptHeader h;
    try {
      h = GptHeader.parse(sector, ss);
    } catch (PartitionException e) {
      throw new PartitionException(which + " GPT " + e.getMessage() + " (LBA " + lba + ")");
    }
    if (h.myLba != lba) {
      throw new PartitionException(
          which + " GPT header at LBA " + lba + " says it lives at LBA " + h.myLba);
    }
    return h;
  }

  private static Loaded entries(RandomAccessDisk disk, int ss, GptHeader h, long lba, String which)
      throws IOException, PartitionException {
    int length = (int) h.entryArrayBytes();
    byte[] entries = PartitionTables.read(disk, h.entryLba * ss, length);
    if (entries.length < length || h.entryLba < 1) {
      throw new PartitionException(
          which + " GPT partition entries at LBA " + h.entryLba + " run past the end of the disk");
    }
    if (GptHeader.crc32(entries, 0, length) != h.entriesCrc) {
      throw new PartitionException(which + " GPT partition entries CRC mismatch");
    }
    return new Loaded(h, entries, lba);
  }

  /** The disk's own sector size first, then the other common one. */
  private static int[] sectorSizes(RandomAccessDisk disk) {
    return IntStream.concat(IntStream.of(disk.sectorSize()), IntStream.of(SECTOR_SIZES))
        .distinct()
        .toArray();
  }
}
