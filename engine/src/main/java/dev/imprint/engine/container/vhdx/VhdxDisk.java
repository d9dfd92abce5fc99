package dev.imprint.engine.container.vhdx;

import dev.imprint.engine.container.BlockMap;
import dev.imprint.engine.container.BlockMappedDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.source.RandomAccessInput;
import java.util.LinkedHashMap;
import java.util.Map;

/** The disk inside a VHDX: fully present blocks read in place, the others zeros or don't-care. */
final class VhdxDisk extends BlockMappedDisk {
  private final long sequence;
  private final int logicalSector;
  private final long present;
  private final long zero;
  private final long blocks;

  VhdxDisk(
      ContainerFormat format,
      RandomAccessInput in,
      BlockMap map,
      long sequence,
      int logicalSector,
      long present,
      long zero,
      long blocks) {
    super(format, in, map);
    this.sequence = sequence;
    this.logicalSector = logicalSector;
    this.present = present;
    this.zero = zero;
    this.blocks = blocks;
  }

  @Override
  public int sectorSize() {
    return logicalSector;
  }

  @Override
  public Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("version", "1");
    m.put("block size", binary(map.blockSize()));
    m.put("logical sector", logicalSector + " bytes");
    m.put(
        "blocks",
        present
            + " present, "
            + zero
            + " zero, "
            + (blocks - present - zero)
            + " not present, of "
            + blocks);
    m.put("header", "sequence " + Long.toUnsignedString(sequence) + ", log empty");
    m.put("checksums", "headers and region table, CRC-32C (checked)");
    return m;
  }
}
