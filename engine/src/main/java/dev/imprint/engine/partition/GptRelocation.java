package dev.imprint.engine.partition;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Moves a GPT to a target of another size. The primary structures stay where they are; what depends
 * on the disk size is rewritten: the protective MBR's 0xEE size (min(sectors − 1, 0xFFFFFFFF), its
 * end CHS for tidiness), the primary header's AlternateLBA and LastUsableLBA (last LBA −
 * entry-array sectors − 1: 33 for 128 × 128-byte entries in 512-byte sectors), and the backup —
 * entries right before the last LBA and its header at the last LBA, with MyLBA and AlternateLBA
 * swapped and its own PartitionEntryLBA. Both headers get fresh CRCs; the entry array (and its CRC)
 * is unchanged unless the last partition grows. A hybrid MBR (0xEE beside other entries) is left
 * alone: its 0xEE entry deliberately covers only part of the disk.
 */
public final class GptRelocation {
  private static final int MBR_ENTRIES = 446;
  private static final long MAX_MBR_SECTORS = 0xFFFFFFFFL;

  /** Bytes to write at {@code offset} of the target. */
  public record Write(long offset, byte[] bytes) {}

  private GptRelocation() {}

  /**
   * What to write, in this order, after the image's data, so the image's GPT describes a {@code
   * targetSize}-byte disk. Also zeroes the image's old backup GPT where it lands in free space of a
   * larger target, so no stale header lingers mid-disk.
   *
   * @param primaryRegion the image's bytes from LBA 0 to the end of the primary entry array ({@link
   *     PartitionTable#gptPrimaryRegion()})
   * @param imageSize the image's logical size in bytes
   * @param targetSize the target's size, a multiple of {@code sectorSize}
   * @throws PartitionException when the region holds no intact GPT or a partition would not fit
   */
  public static List<Write> relocate(
      byte[] primaryRegion, int sectorSize, long imageSize, long targetSize)
      throws PartitionException {
    return relocate(primaryRegion, sectorSize, imageSize, targetSize, false);
  }

  /**
   * As {@link #relocate}, and the partition that ends last is extended to the new LastUsableLBA
   * ({@code --grow-last-partition}); the filesystem inside is the caller's to grow.
   */
  public static List<Write> relocateGrowingLast(
      byte[] primaryRegion, int sectorSize, long imageSize, long targetSize)
      throws PartitionException {
    return relocate(primaryRegion, sectorSize, imageSize, targetSize, true);
  }

  /**
   * Why a {@code targetSize}-byte disk cannot hold the image, or empty when it can. For GPT the
   * target must also hold the backup entry array and header after the last partition.
   *
   * @param imageDataEnd end of the last byte the caller will copy from the image, leaving out the
   *     GPT backup (which relocation rewrites); 0 when only partitions matter
   */
  public static Optional<String> fitsProblem(PartitionTable t, long imageDataEnd, long targetSize) {
    int ss = t.sectorSize();
    long reserved = 0;
    if (t.scheme() == PartitionScheme.GPT) {
      if (targetSize % ss != 0) {
        return Optional.of(
            "target size " + targetSize + " is not a multiple of the " + ss + "-byte sector size");
      }
      reserved = (GptHeader.sectorsFor((long) t.entryCount() * t.entrySize(), ss) + 1) * ss;
    }
    long room = targetSize - reserved;
    PartitionEntry worst = null;
    for (PartitionEntry e : t.entries()) {
      if (e.end() > room && (worst == null || e.end() > worst.end())) {
        worst = e;
      }
    }
    String what = null;
    long end = 0;
    if (worst != null) {
      what = GptEntryArray.describe(worst.number(), worst.label()) + " ends at byte";
      end = worst.end();
    } else if (imageDataEnd > room) {
      what = "the image holds data up to byte";
      end = imageDataEnd;
    }
    if (what != null) {
      String tail = reserved > 0 ? " (" + reserved + " bytes at the end hold the backup GPT)" : "";
      return Optional.of(
          String.format(
              "%s %d but a %d-byte target has room up to byte %d%s;"
                  + " the target needs at least %d bytes",
              what, end, targetSize, room, tail, end + reserved));
    }
    return Optional.empty();
  }

  private static List<Write> relocate(
      byte[] region, int ss, long imageSize, long targetSize, boolean growLast)
      throws PartitionException {
    if (ss < 512 || Integer.bitCount(ss) != 1) {
      throw new PartitionException("sector size " + ss + " is not a power of two ≥ 512");
    }
    if (targetSize % ss != 0 || targetSize <= 0) {
      throw new PartitionException(
          "target size "
              + targetSize
              + " is not a positive multiple of the "
              + ss
              + "-byte sector");
    }
    if (region.length < 2 * ss) {
      throw new PartitionException(
          "the image's first region holds "
              + region.length
              + " bytes, too few for a protective MBR and a GPT header");
    }
    GptHeader h;
    try {
      h = GptHeader.parse(Arrays.copyOfRange(region, ss, 2 * ss), ss);
    } catch (PartitionException e) {
      throw new PartitionException("cannot relocate the image's primary GPT: " + e.getMessage());
    }
    if (h.myLba != 1) {
      throw new PartitionException(
          "cannot relocate the image's primary GPT: its header says it lives at LBA " + h.myLba);
    }
    long entriesSectors = h.entryArraySectors(ss);
    long primaryEnd = (h.entryLba + entriesSectors) * ss;
    if (h.entryLba < 2 || primaryEnd > region.length) {
      throw new PartitionException(
          "the image's first region holds "
              + region.length
              + " bytes but the primary GPT entries end at byte "
              + primaryEnd);
    }
    int entriesStart = (int) (h.entryLba * ss);
    byte[] entrySectors = Arrays.copyOfRange(region, entriesStart, (int) primaryEnd);
    int entryBytes = (int) h.entryArrayBytes();
    if (GptHeader.crc32(entrySectors, 0, entryBytes) != h.entriesCrc) {
      throw new PartitionException(
          "cannot relocate the image's primary GPT: partition entries CRC mismatch");
    }

    long targetSectors = targetSize / ss;
    long lastLba = targetSectors - 1;
    long backupEntriesLba = lastLba - entriesSectors;
    long lastUsable = backupEntriesLba - 1;
    if (lastUsable < Math.max(h.firstUsableLba, h.entryLba + entriesSectors)) {
      throw new PartitionException(
          "a " + targetSize + "-byte target is too small to hold the GPT itself");
    }

    List<GptEntryArray.Slot> slots = GptEntryArray.slots(entrySectors, h.entryCount, h.entrySize);
    GptEntryArray.Slot last = null;
    long oldDataEnd = (h.entryLba + entriesSectors) * ss;
    for (GptEntryArray.Slot s : slots) {
      oldDataEnd = Math.max(oldDataEnd, (s.lastLba() + 1) * ss);
      if (last == null || s.lastLba() > last.lastLba()) {
        last = s;
      }
      if (s.lastLba() > lastUsable) {
        throw new PartitionException(
            GptEntryArray.describe(s.number(), s.name())
                + " ends at LBA "
                + s.lastLba()
                + " but a "
                + targetSize
                + "-byte target's last usable LBA is "
                + lastUsable
                + "; the target needs at least "
                + (s.lastLba() + 2 + entriesSectors) * ss
                + " bytes");
      }
    }
    int entriesCrc = h.entriesCrc;
    if (growLast && last != null) {
      GptEntryArray.setLastLba(entrySectors, last, lastUsable);
      entriesCrc = GptHeader.crc32(entrySectors, 0, entryBytes);
    }

    List<Write> writes = new ArrayList<>();
    // The old backup, where it now sits in free space past every partition's old end.
    long oldBackupStart = Math.max(oldDataEnd, (h.alternateLba - entriesSectors) * ss);
    long oldBackupEnd =
        Math.min(Math.min(imageSize, (h.alternateLba + 1) * ss), backupEntriesLba * ss);
    if (oldBackupEnd > oldBackupStart) {
      writes.add(new Write(oldBackupStart, new byte[(int) (oldBackupEnd - oldBackupStart)]));
    }
    writes.add(new Write(backupEntriesLba * ss, entrySectors.clone()));
    writes.add(
        new Write(
            lastLba * ss, h.relocated(ss, lastLba, 1, lastUsable, backupEntriesLba, entriesCrc)));
    writes.add(new Write(entriesStart, entrySectors));
    writes.add(new Write(ss, h.relocated(ss, 1, lastLba, lastUsable, h.entryLba, entriesCrc)));
    writes.add(new Write(0, protectiveMbr(Arrays.copyOf(region, ss), targetSectors)));
    return List.copyOf(writes);
  }

  private static byte[] protectiveMbr(byte[] mbr, long targetSectors) throws PartitionException {
    if (!PartitionTables.hasBootSignature(mbr)) {
      throw new PartitionException("the image's LBA 0 holds no MBR signature (0x55AA)");
    }
    int protective = -1;
    boolean hybrid = false;
    for (int i = 0; i < 4; i++) {
      int off = MBR_ENTRIES + 16 * i;
      int type = mbr[off + 4] & 0xff;
      if (type == MbrReader.PROTECTIVE) {
        protective = off;
      } else if (type != 0) {
        hybrid = true;
      }
    }
    if (protective < 0) {
      throw new PartitionException("the image's MBR has no protective (0xEE) entry");
    }
    if (hybrid) {
      return mbr;
    }
    long start = MbrReader.le32(mbr, protective + 8) & 0xffffffffL;
    long count = Math.min(targetSectors - start, MAX_MBR_SECTORS);
    putLe32(mbr, protective + 12, (int) count);
    putChs(mbr, protective + 5, Math.min(start + count - 1, MAX_MBR_SECTORS));
    return mbr;
  }

  /** CHS in the 255-head, 63-sector geometry every partitioner assumes; 1023/254/63 past it. */
  private static void putChs(byte[] b, int off, long lba) {
    long cylinder = lba / (255 * 63);
    int head = (int) (lba / 63 % 255);
    int sector = (int) (lba % 63 + 1);
    if (cylinder > 1023) {
      cylinder = 1023;
      head = 254;
      sector = 63;
    }
    b[off] = (byte) head;
    b[off + 1] = (byte) (sector | (cylinder >> 2 & 0xC0));
    b[off + 2] = (byte) cylinder;
  }

  private static void putLe32(byte[] b, int off, int v) {
    b[off] = (byte) v;
    b[off + 1] = (byte) (v >> 8);
    b[off + 2] = (byte) (v >> 16);
    b[off + 3] = (byte) (v >> 24);
  }
}
