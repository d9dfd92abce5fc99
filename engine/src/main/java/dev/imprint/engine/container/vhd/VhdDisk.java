package dev.imprint.engine.container.vhd;

import dev.imprint.engine.container.BlockMap;
import dev.imprint.engine.container.BlockMappedDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.source.RandomAccessInput;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The disk inside a VHD. In a dynamic disk an allocated block is read whole, its sector bitmap not
 * consulted: a block is zeroed when allocated, so unwritten sectors read as zeros (as qemu reads
 * them).
 */
final class VhdDisk extends BlockMappedDisk {
  private final boolean dynamic;
  private final long allocated;
  private final long blocks;
  private final String creator;

  VhdDisk(
      ContainerFormat format,
      RandomAccessInput in,
      BlockMap map,
      boolean dynamic,
      long allocated,
      long blocks,
      String creator) {
    super(format, in, map);
    this.dynamic = dynamic;
    this.allocated = allocated;
    this.blocks = blocks;
    this.creator = creator;
  }

  @Override
  public Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("type", dynamic ? "dynamic" : "fixed");
    m.put("creator", creator);
    if (dynamic) {
      m.put("block size", binary(map.blockSize()));
      m.put("blocks", allocated + " of " + blocks + " allocated");
      m.put("checksums", "footer and dynamic header (checked)");
    } else {
      m.put("checksums", "footer (checked)");
    }
    return m;
  }
}
