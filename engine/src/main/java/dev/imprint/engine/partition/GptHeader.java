package dev.imprint.engine.partition;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * A GPT header (UEFI 2.x §5.3.2), validated. The header CRC covers HeaderSize bytes with the CRC
 * field zeroed; the entries CRC covers exactly NumberOfPartitionEntries × SizeOfPartitionEntry
 * bytes (not the sector padding). MyLBA/AlternateLBA are what tie the primary (LBA 1) and backup
 * (last LBA) together, so relocation rewrites them, LastUsableLBA and PartitionEntryLBA, and keeps
 * every other byte (revision, disk GUID, a longer header's tail) as found.
 */
final class GptHeader {
  static final byte[] SIGNATURE = "EFI PART".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  static final int MIN_HEADER_SIZE = 92;

  /** Far beyond any real table (sgdisk's default is 16 KiB); bounds what a corrupt header costs. */
  static final long MAX_ENTRY_ARRAY_BYTES = 16L << 20;

  private static final int HEADER_SIZE = 12;
  private static final int HEADER_CRC = 16;
  private static final int MY_LBA = 24;
  private static final int ALTERNATE_LBA = 32;
  private static final int FIRST_USABLE = 40;
  private static final int LAST_USABLE = 48;
  private static final int DISK_GUID = 56;
  private static final int ENTRY_LBA = 72;
  private static final int ENTRY_COUNT = 80;
  private static final int ENTRY_SIZE = 84;
  private static final int ENTRIES_CRC = 88;

  private final byte[] raw; // headerSize bytes
  final long myLba;
  final long alternateLba;
  final long firstUsableLba;
  final long lastUsableLba;
  final String diskGuid;
  final long entryLba;
  final int entryCount;
  final int entrySize;
  final int entriesCrc;

  private GptHeader(byte[] raw) {
    this.raw = raw;
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    myLba = b.getLong(MY_LBA);
    alternateLba = b.getLong(ALTERNATE_LBA);
    firstUsableLba = b.getLong(FIRST_USABLE);
    lastUsableLba = b.getLong(LAST_USABLE);
    diskGuid = Guid.format(raw, DISK_GUID);
    entryLba = b.getLong(ENTRY_LBA);
    entryCount = b.getInt(ENTRY_COUNT);
    entrySize = b.getInt(ENTRY_SIZE);
    entriesCrc = b.getInt(ENTRIES_CRC);
  }

  static boolean hasSignature(byte[] sector) {
    return sector.length >= SIGNATURE.length
        && Arrays.equals(sector, 0, SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length);
  }

  /**
   * Parses and checks the header in {@code sector}.
   *
   * @throws PartitionException naming the first check that failed, phrased to follow "GPT "
   */
  static GptHeader parse(byte[] sector, int sectorSize) throws PartitionException {
    if (!hasSignature(sector)) {
      throw new PartitionException("header signature 'EFI PART' missing");
    }
    ByteBuffer b = ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN);
    int size = b.getInt(HEADER_SIZE);
    if (size < MIN_HEADER_SIZE || size > Math.min(sectorSize, sector.length)) {
      throw new PartitionException(
          "header size " + size + " outside " + MIN_HEADER_SIZE + ".." + sectorSize);
    }
    byte[] raw = Arrays.copyOf(sector, size);
    if (crcWithFieldZeroed(raw) != b.getInt(HEADER_CRC)) {
      throw new PartitionException("header CRC mismatch");
    }
    GptHeader h = new GptHeader(raw);
    if (h.entrySize < 128 || h.entrySize % 128 != 0 || Integer.bitCount(h.entrySize / 128) != 1) {
      throw new PartitionException(
          "header gives an entry size of " + h.entrySize + " bytes, not 128 × 2^n");
    }
    if (h.entryCount < 0 || h.entryArrayBytes() > MAX_ENTRY_ARRAY_BYTES) {
      throw new PartitionException(
          "header gives an implausible entry array of "
              + Integer.toUnsignedString(h.entryCount)
              + " × "
              + h.entrySize
              + " bytes");
    }
    if (h.firstUsableLba > h.lastUsableLba + 1) {
      throw new PartitionException(
          "header's first usable LBA "
              + h.firstUsableLba
              + " lies after its last usable LBA "
              + h.lastUsableLba);
    }
    return h;
  }

  long entryArrayBytes() {
    return (long) entryCount * entrySize;
  }

  long entryArraySectors(int sectorSize) {
    return sectorsFor(entryArrayBytes(), sectorSize);
  }

  static long sectorsFor(long bytes, int sectorSize) {
    return (bytes + sectorSize - 1) / sectorSize;
  }

  /**
   * This header moved: a full sector holding it with new locations and a fresh CRC; every other
   * byte is kept.
   */
  byte[] relocated(
      int sectorSize, long myLba, long alternateLba, long lastUsableLba, long entryLba, int crc) {
    byte[] sector = new byte[sectorSize];
    System.arraycopy(raw, 0, sector, 0, raw.length);
    ByteBuffer b = ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(MY_LBA, myLba);
    b.putLong(ALTERNATE_LBA, alternateLba);
    b.putLong(LAST_USABLE, lastUsableLba);
    b.putLong(ENTRY_LBA, entryLba);
    b.putInt(ENTRIES_CRC, crc);
    byte[] header = Arrays.copyOf(sector, raw.length);
    b.putInt(HEADER_CRC, crcWithFieldZeroed(header));
    return sector;
  }

  /**
   * This header with another disk GUID and entries CRC ({@code --new-ids}): a full sector, fresh
   * CRC, every other byte kept.
   */
  byte[] renewed(int sectorSize, byte[] diskGuid, int entriesCrc) {
    byte[] sector = new byte[sectorSize];
    System.arraycopy(raw, 0, sector, 0, raw.length);
    System.arraycopy(diskGuid, 0, sector, DISK_GUID, 16);
    ByteBuffer b = ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(ENTRIES_CRC, entriesCrc);
    b.putInt(HEADER_CRC, crcWithFieldZeroed(Arrays.copyOf(sector, raw.length)));
    return sector;
  }

  /** Whether two headers describe the same table (they differ only in where they sit). */
  boolean sameTableAs(GptHeader other) {
    return firstUsableLba == other.firstUsableLba
        && lastUsableLba == other.lastUsableLba
        && diskGuid.equals(other.diskGuid)
        && entryCount == other.entryCount
        && entrySize == other.entrySize
        && entriesCrc == other.entriesCrc;
  }

  private static int crcWithFieldZeroed(byte[] header) {
    byte[] copy = header.clone();
    Arrays.fill(copy, HEADER_CRC, HEADER_CRC + 4, (byte) 0);
    return crc32(copy, 0, copy.length);
  }

  static int crc32(byte[] b, int off, int len) {
    CRC32 crc = new CRC32();
    crc.update(b, off, len);
    return (int) crc.getValue();
  }
}
