package dev.imprint.engine.partition;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A GPT partition entry array (UEFI §5.3.3). A slot is in use when its type GUID is non-zero; its
 * StartingLBA and EndingLBA are inclusive; the name is 36 UTF-16LE code units, NUL-padded. Slots
 * larger than 128 bytes keep the same first 128 bytes.
 */
final class GptEntryArray {
  private static final int UNIQUE_GUID = 16;
  private static final int FIRST_LBA = 32;
  private static final int LAST_LBA = 40;
  private static final int ATTRIBUTES = 48;
  private static final int NAME = 56;
  private static final int NAME_BYTES = 72;

  /** A used slot, in LBAs as stored (before any sanity check). */
  record Slot(int number, long firstLba, long lastLba, String type, String name, int offset) {}

  private GptEntryArray() {}

  static List<Slot> slots(byte[] entries, int entryCount, int entrySize) {
    List<Slot> slots = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(entries).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < entryCount; i++) {
      int off = i * entrySize;
      if (Guid.isZero(entries, off)) {
        continue;
      }
      slots.add(
          new Slot(
              i + 1,
              b.getLong(off + FIRST_LBA),
              b.getLong(off + LAST_LBA),
              Guid.format(entries, off),
              name(entries, off + NAME),
              off));
    }
    return slots;
  }

  static PartitionEntry entry(byte[] entries, Slot s, int sectorSize) {
    ByteBuffer b = ByteBuffer.wrap(entries).order(ByteOrder.LITTLE_ENDIAN);
    return new PartitionEntry(
        s.number(),
        s.firstLba() * sectorSize,
        (s.lastLba() - s.firstLba() + 1) * sectorSize,
        s.type(),
        s.name(),
        Guid.format(entries, s.offset() + UNIQUE_GUID),
        b.getLong(s.offset() + ATTRIBUTES),
        false);
  }

  static void setLastLba(byte[] entries, Slot s, long lastLba) {
    ByteBuffer.wrap(entries).order(ByteOrder.LITTLE_ENDIAN).putLong(s.offset() + LAST_LBA, lastLba);
  }

  /** How a slot is named in messages: its number, and its name when it has one. */
  static String describe(int number, String name) {
    return name.isEmpty() ? "partition " + number : "partition " + number + " (\"" + name + "\")";
  }

  private static String name(byte[] entries, int off) {
    int len = 0;
    while (len < NAME_BYTES && (entries[off + len] != 0 || entries[off + len + 1] != 0)) {
      len += 2;
    }
    return new String(entries, off, len, StandardCharsets.UTF_16LE);
  }
}
