package dev.imprint.engine.pipeline;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Where the partition table at the start of a raw disk says the disk ends at least: past the backup
 * GPT header (its location is in the primary header), or past the last MBR partition. A stream that
 * ends before this was cut short. Only tables that check out count: a GPT header with a valid CRC,
 * an MBR whose entries are well formed and that is not a volume's boot sector.
 */
final class TableEnd {
  private static final byte[] GPT_SIGNATURE = "EFI PART".getBytes(StandardCharsets.US_ASCII);

  private TableEnd() {}

  /** The least disk size the table in {@code head} (the disk's first bytes) implies, or 0. */
  static long of(ByteBuffer head) {
    ByteBuffer b = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < 512 || b.get(510) != 0x55 || b.get(511) != (byte) 0xaa) {
      return 0;
    }
    if (isVolumeBootSector(b)) {
      return 0;
    }
    long mbrEnd = 0;
    boolean protective = false;
    for (int i = 0; i < 4; i++) {
      int e = 446 + 16 * i;
      int status = Byte.toUnsignedInt(b.get(e));
      int type = Byte.toUnsignedInt(b.get(e + 4));
      if (status != 0 && status != 0x80) {
        return 0; // boot code, not a partition table
      }
      if (type == 0xee) {
        protective = true;
      } else if (type != 0) {
        long start = Integer.toUnsignedLong(b.getInt(e + 8));
        long count = Integer.toUnsignedLong(b.getInt(e + 12));
        mbrEnd = Math.max(mbrEnd, (start + count) * 512);
      }
    }
    if (protective) {
      for (int sector : new int[] {512, 4096}) {
        long end = gptEnd(b, sector);
        if (end > 0) {
          return end;
        }
      }
      return 0;
    }
    return mbrEnd;
  }

  /** FAT, exFAT and NTFS volumes end their boot sector in 0x55AA too. */
  private static boolean isVolumeBootSector(ByteBuffer b) {
    return has(b, 3, "NTFS    ") || has(b, 3, "EXFAT   ") || has(b, 54, "FAT") || has(b, 82, "FAT");
  }

  private static boolean has(ByteBuffer b, int at, String s) {
    byte[] want = s.getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < want.length; i++) {
      if (b.get(at + i) != want[i]) {
        return false;
      }
    }
    return true;
  }

  /** Past the backup header of a GPT whose primary header at LBA 1 checks out, or 0. */
  private static long gptEnd(ByteBuffer b, int sector) {
    if (b.remaining() < 2 * sector) {
      return 0;
    }
    for (int i = 0; i < GPT_SIGNATURE.length; i++) {
      if (b.get(sector + i) != GPT_SIGNATURE[i]) {
        return 0;
      }
    }
    int size = b.getInt(sector + 12);
    if (size < 92 || size > sector) {
      return 0;
    }
    byte[] header = new byte[size];
    b.get(sector, header);
    int stored = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(16);
    header[16] = header[17] = header[18] = header[19] = 0;
    CRC32 crc = new CRC32();
    crc.update(header);
    if ((int) crc.getValue() != stored) {
      return 0;
    }
    long alternate = b.getLong(sector + 32);
    if (alternate <= 1 || alternate > Long.MAX_VALUE / sector - 1) {
      return 0;
    }
    return (alternate + 1) * sector;
  }
}
