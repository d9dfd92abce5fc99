package dev.imprint.engine.partition;

import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Fresh identities for a restored disk's partition table ({@code --new-ids}), as exact edits: a
 * GPT's disk GUID and every used entry's unique partition GUID, the same in the primary and the
 * backup copies, with new entry-array and header CRCs; or an MBR's 32-bit disk signature (which
 * Linux's PARTUUIDs of MBR partitions derive from). Types, names, extents and attributes stay.
 */
public final class TableIds {
  private static final int UNIQUE_GUID = 16;
  private static final int MBR_DISK_SIGNATURE = 440;

  /**
   * What renewing gives: the new disk id (GPT GUID, or MBR signature as 8 hex digits; "" without a
   * table), each partition's new unique GUID by number (GPT only), and the bytes to write.
   */
  public record Renewed(
      PartitionScheme scheme,
      String diskId,
      Map<Integer, String> partitionGuids,
      List<GptRelocation.Write> writes) {}

  private TableIds() {}

  /**
   * New ids for the table on {@code disk}. The backup GPT is written before the primary, so a cut
   * leaves the primary (which readers prefer) consistent with itself.
   *
   * @throws PartitionException when the table is damaged: nothing is to be changed then
   */
  public static Renewed renew(RandomAccessDisk disk, Random random)
      throws IOException, PartitionException {
    PartitionTable t = PartitionTables.read(disk);
    if (!t.problems().isEmpty()) {
      throw new PartitionException("the restored partition table is not clean: " + t.problems());
    }
    return switch (t.scheme()) {
      case NONE -> new Renewed(t.scheme(), "", Map.of(), List.of());
      case MBR -> mbr(disk, random);
      case GPT -> gpt(disk, t.sectorSize(), random);
    };
  }

  private static Renewed mbr(RandomAccessDisk disk, Random random) throws IOException {
    byte[] sector = PartitionTables.read(disk, 0, PartitionTables.MBR_SIZE);
    int id = 0;
    while (id == 0) {
      id = random.nextInt();
    }
    ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN).putInt(MBR_DISK_SIGNATURE, id);
    return new Renewed(
        PartitionScheme.MBR,
        String.format("%08X", id),
        Map.of(),
        List.of(new GptRelocation.Write(0, sector)));
  }

  private static Renewed gpt(RandomAccessDisk disk, int ss, Random random)
      throws IOException, PartitionException {
    GptReader.Loaded primary = GptReader.load(disk, ss, 1, "primary");
    GptReader.Loaded backup = GptReader.load(disk, ss, primary.header().alternateLba, "backup");
    GptHeader h = primary.header();
    byte[] entries = primary.entries().clone();
    Map<Integer, String> guids = new LinkedHashMap<>();
    for (GptEntryArray.Slot s : GptEntryArray.slots(entries, h.entryCount, h.entrySize)) {
      System.arraycopy(Guid.random(random), 0, entries, s.offset() + UNIQUE_GUID, 16);
      guids.put(s.number(), Guid.format(entries, s.offset() + UNIQUE_GUID));
    }
    byte[] disk16 = Guid.random(random);
    int crc = GptHeader.crc32(entries, 0, entries.length);
    List<GptRelocation.Write> writes = new ArrayList<>();
    writes.add(new GptRelocation.Write(backup.header().entryLba * ss, entries));
    writes.add(
        new GptRelocation.Write(backup.lba() * ss, backup.header().renewed(ss, disk16, crc)));
    writes.add(new GptRelocation.Write(h.entryLba * ss, entries));
    writes.add(new GptRelocation.Write(primary.lba() * ss, h.renewed(ss, disk16, crc)));
    return new Renewed(PartitionScheme.GPT, Guid.format(disk16, 0), guids, writes);
  }
}
