package dev.imprint.engine.partition;

import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An MBR and its EBR chain. Each 16-byte entry at 446 gives status (0x00 or 0x80: anything else
 * means sector 0 is not an MBR but, say, a FAT boot sector), type, and 32-bit LBA start and count;
 * CHS fields are ignored, as every modern OS ignores them. In an EBR, the first entry's start is
 * relative to that EBR and the second's (the link) to the start of the primary extended partition.
 * Logical partitions are numbered from 5 in chain order, as Linux and sfdisk number them.
 */
final class MbrReader {
  private static final int ENTRIES = 446;
  private static final int ENTRY_SIZE = 16;
  private static final int DISK_SIGNATURE = 440;
  private static final int MAX_EBRS = 128;
  static final int PROTECTIVE = 0xEE;

  private record Raw(int status, int type, long start, long count) {
    boolean used() {
      return type != 0 && count != 0;
    }
  }

  private MbrReader() {}

  static boolean isExtendedType(String type) {
    return type.equals("05") || type.equals("0F") || type.equals("85");
  }

  static boolean hasProtectiveEntry(byte[] mbr) {
    for (int i = 0; i < 4; i++) {
      if (raw(mbr, i).type() == PROTECTIVE) {
        return true;
      }
    }
    return false;
  }

  static PartitionTable read(RandomAccessDisk disk, byte[] mbr) throws IOException {
    int ss = disk.sectorSize();
    long size = disk.size();
    List<String> problems = new ArrayList<>();
    List<PartitionEntry> entries = new ArrayList<>();
    List<Extent> regions = new ArrayList<>(List.of(new Extent(0, Math.min(ss, size))));
    boolean any = false;
    for (int i = 0; i < 4; i++) {
      Raw r = raw(mbr, i);
      if (r.status() != 0 && r.status() != 0x80) {
        return PartitionTable.none(
            ss,
            size,
            List.of(
                String.format(
                    "sector 0 ends in 0x55AA but MBR entry %d has status byte 0x%02X (not 0x00 or"
                        + " 0x80): not a partition table",
                    i + 1, r.status())));
      }
      if (r.used() && r.start() == 0) {
        return PartitionTable.none(
            ss,
            size,
            List.of(
                "MBR entry "
                    + (i + 1)
                    + " starts at LBA 0, on top of the MBR itself: not a partition table"));
      }
      any |= r.used();
    }
    if (!any && looksLikeBootSector(mbr)) {
      return PartitionTable.none(ss, size, List.of()); // a filesystem starting at sector 0
    }
    int nextLogical = 5;
    for (int i = 0; i < 4; i++) {
      Raw r = raw(mbr, i);
      if (!r.used()) {
        continue;
      }
      PartitionEntry e = entry(i + 1, r, r.start(), ss, false);
      entries.add(e);
      if (e.isContainer()) {
        nextLogical = walkChain(disk, e, r, nextLogical, entries, regions, problems);
      }
    }
    problems.addAll(PartitionTables.layoutProblems(entries, size));
    String diskId = String.format("%08X", le32(mbr, DISK_SIGNATURE));
    return new PartitionTable(
        PartitionScheme.MBR, ss, size, diskId, entries, problems, 0, 0, 0, 0, 0, regions);
  }

  /** Follows the EBR links of one extended partition; returns the next logical number. */
  private static int walkChain(
      RandomAccessDisk disk,
      PartitionEntry container,
      Raw ext,
      int number,
      List<PartitionEntry> entries,
      List<Extent> regions,
      List<String> problems)
      throws IOException {
    int ss = disk.sectorSize();
    long extStart = ext.start();
    long extEnd = ext.start() + ext.count();
    Set<Long> seen = new HashSet<>();
    long ebr = extStart;
    while (true) {
      if (!seen.add(ebr)) {
        problems.add("EBR chain of partition " + container.number() + " loops back to LBA " + ebr);
        break;
      }
      if (seen.size() > MAX_EBRS) {
        problems.add(
            "EBR chain of partition "
                + container.number()
                + " is longer than "
                + MAX_EBRS
                + " links; the rest is ignored");
        break;
      }
      if (ebr < extStart || ebr >= extEnd) {
        problems.add(
            "EBR at LBA "
                + ebr
                + " lies outside extended partition "
                + container.number()
                + "; the chain stops there");
        break;
      }
      byte[] sector = PartitionTables.read(disk, ebr * ss, PartitionTables.MBR_SIZE);
      if (!PartitionTables.hasBootSignature(sector)) {
        problems.add(
            "EBR at LBA "
                + ebr
                + (sector.length < PartitionTables.MBR_SIZE
                    ? " lies past the end of the disk"
                    : " lacks the 0x55AA signature")
                + "; logical partitions from there on are ignored");
        break;
      }
      regions.add(new Extent(ebr * ss, ss));
      Raw first = raw(sector, 0);
      if (first.used()) {
        PartitionEntry logical = entry(number++, first, ebr + first.start(), ss, true);
        if (logical.offset() < container.offset() || logical.end() > container.end()) {
          problems.add(
              "logical partition "
                  + logical.number()
                  + " lies outside extended partition "
                  + container.number());
        }
        entries.add(logical);
      }
      Raw link = raw(sector, 1);
      if (!link.used() || !isExtendedType(hex(link.type()))) {
        break;
      }
      ebr = extStart + link.start();
    }
    return number;
  }

  private static PartitionEntry entry(int number, Raw r, long startLba, int ss, boolean logical) {
    return new PartitionEntry(
        number, startLba * ss, r.count() * ss, hex(r.type()), "", "", r.status(), logical);
  }

  /** A FAT/NTFS/exFAT boot sector: an x86 jump and a sane bytes-per-sector in its BPB. */
  private static boolean looksLikeBootSector(byte[] s) {
    boolean jump = (s[0] == (byte) 0xEB && s[2] == (byte) 0x90) || s[0] == (byte) 0xE9;
    int bytesPerSector = (s[11] & 0xff) | (s[12] & 0xff) << 8;
    return jump
        && bytesPerSector >= 512
        && bytesPerSector <= 4096
        && Integer.bitCount(bytesPerSector) == 1;
  }

  private static Raw raw(byte[] sector, int index) {
    int off = ENTRIES + index * ENTRY_SIZE;
    return new Raw(
        sector[off] & 0xff,
        sector[off + 4] & 0xff,
        le32(sector, off + 8) & 0xffffffffL,
        le32(sector, off + 12) & 0xffffffffL);
  }

  private static String hex(int type) {
    return String.format("%02X", type);
  }

  static int le32(byte[] b, int off) {
    return (b[off] & 0xff)
        | (b[off + 1] & 0xff) << 8
        | (b[off + 2] & 0xff) << 16
        | (b[off + 3] & 0xff) << 24;
  }
}
