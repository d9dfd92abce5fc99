package dev.imprint.engine.filesystem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * XFS (v4 and v5): each allocation group is used except the extents in its by-block-number
 * free-space B+tree, read from the AGF. The internal log, the free list and every btree block count
 * as used. Not supported (ignored, it lives on another device): a realtime section.
 */
public final class Xfs implements FilesystemReader {
  private static final byte[] SB_MAGIC = "XFSB".getBytes(StandardCharsets.US_ASCII);
  private static final int AGF_MAGIC = 0x58414746; // XAGF
  private static final int BNO_MAGIC_V4 = 0x41425442; // ABTB
  private static final int BNO_MAGIC_V5 = 0x41423342; // AB3B
  private static final int SB_CRC_OFFSET = 224;
  private static final int MAX_LEVELS = 10;

  @Override
  public String name() {
    return "xfs";
  }

  @Override
  public boolean probe(Volume volume) throws IOException {
    return VolumeReads.matches(VolumeReads.head(volume, 0, 4), 0, SB_MAGIC);
  }

  @Override
  public AllocationMap allocation(Volume volume) throws IOException {
    ByteBuffer sb = big(VolumeReads.read(volume, 0, 512, "XFS superblock"));
    if (!VolumeReads.matches(sb, 0, SB_MAGIC)) {
      throw new FilesystemException("no XFS superblock magic");
    }
    long blockSize = u32(sb, 4);
    long dblocks = sb.getLong(8);
    long agblocks = u32(sb, 84);
    long agcount = u32(sb, 88);
    int version = sb.getShort(100) & 0xF;
    int sectSize = sb.getShort(102) & 0xffff;
    int blockLog = sb.get(120) & 0xff;
    int sectLog = sb.get(121) & 0xff;
    int agblkLog = sb.get(124) & 0xff;
    if (version != 4 && version != 5) {
      throw new FilesystemException("superblock version " + version);
    }
    if (!VolumeReads.isPowerOfTwo(sectSize)
        || sectSize < 512
        || sectSize > 32768
        || 1 << sectLog != sectSize) {
      throw new FilesystemException("sector size " + sectSize + " (log " + sectLog + ")");
    }
    if (!VolumeReads.isPowerOfTwo(blockSize)
        || blockSize < 512
        || blockSize > 65536
        || 1L << blockLog != blockSize
        || blockSize < sectSize) {
      throw new FilesystemException("block size " + blockSize + " (log " + blockLog + ")");
    }
    if (agblocks < 64
        || agcount == 0
        || agblkLog > 31
        || (1L << agblkLog) < agblocks
        || (agblkLog > 0 && (1L << (agblkLog - 1)) >= agblocks)) {
      throw new FilesystemException(
          agcount + " allocation groups of " + agblocks + " blocks (log " + agblkLog + ")");
    }
    if (dblocks <= (agcount - 1) * agblocks || dblocks > agcount * agblocks) {
      throw new FilesystemException(
          dblocks + " blocks do not make " + agcount + " groups of " + agblocks);
    }
    if (dblocks > volume.length() / blockSize) {
      throw new FilesystemException(
          "the filesystem ("
              + dblocks * blockSize
              + " bytes) is larger than its volume ("
              + volume.length()
              + " bytes)");
    }
    if (version == 5) {
      ByteBuffer sector = VolumeReads.read(volume, 0, sectSize, "XFS superblock");
      CRC32C crc = new CRC32C();
      crc.update(sector.array(), 0, SB_CRC_OFFSET);
      crc.update(new byte[4]);
      crc.update(sector.array(), SB_CRC_OFFSET + 4, sectSize - SB_CRC_OFFSET - 4);
      long stored = sector.getInt(SB_CRC_OFFSET) & 0xffffffffL; // little-endian on disk
      if (crc.getValue() != stored) {
        throw new FilesystemException(
            String.format(
                "superblock checksum mismatch (stored %08x, computed %08x)",
                stored, crc.getValue()));
      }
    }

    UsedRanges used = new UsedRanges(volume.length());
    long freeTotal = 0;
    for (long ag = 0; ag < agcount; ag++) {
      long agStart = ag * agblocks;
      long agLength = Math.min(agblocks, dblocks - agStart);
      ByteBuffer agf =
          big(VolumeReads.read(volume, agStart * blockSize + sectSize, sectSize, "AGF " + ag));
      if (agf.getInt(0) != AGF_MAGIC || agf.getInt(4) != 1 || u32(agf, 8) != ag) {
        throw new FilesystemException("AGF " + ag + ": bad magic, version or sequence number");
      }
      if (u32(agf, 12) != agLength) {
        throw new FilesystemException(
            "AGF " + ag + " says " + u32(agf, 12) + " blocks, the superblock " + agLength);
      }
      long root = u32(agf, 16);
      long levels = u32(agf, 28);
      long freeBlocks = u32(agf, 52);
      if (levels < 1 || levels > MAX_LEVELS || root == 0 || root >= agLength) {
        throw new FilesystemException("AGF " + ag + ": bad free-space btree root or levels");
      }
      Walk walk = new Walk(volume, ag, agStart, agLength, blockSize, version == 5);
      walk.collect(root, (int) levels - 1);
      if (walk.freeSum != freeBlocks) {
        throw new FilesystemException(
            "AGF "
                + ag
                + " counts "
                + freeBlocks
                + " free blocks, its free-space btree "
                + walk.freeSum);
      }
      // Used = the group minus its free extents, which the walk found in ascending order.
      long cursor = 0;
      for (int i = 0; i < walk.count; i++) {
        used.add((agStart + cursor) * blockSize, (walk.starts[i] - cursor) * blockSize);
        cursor = walk.starts[i] + walk.lengths[i];
      }
      used.add((agStart + cursor) * blockSize, (agLength - cursor) * blockSize);
      freeTotal += freeBlocks;
    }
    String how =
        "xfs free-space btrees, "
            + agcount
            + " allocation groups, "
            + freeTotal
            + " of "
            + dblocks
            + " blocks free";
    return new AllocationMap("xfs", volume.length(), used.extents(), how);
  }

  /** A walk of one group's bnobt: leaf records in key order, checked as they come. */
  private static final class Walk {
    private final Volume volume;
    private final long ag;
    private final long agStart;
    private final long agLength;
    private final long blockSize;
    private final boolean v5;
    private final int header;
    long[] starts = new long[16];
    long[] lengths = new long[16];
    int count;
    long freeSum;
    long lastEnd;
    long blocksVisited;

    Walk(Volume volume, long ag, long agStart, long agLength, long blockSize, boolean v5) {
      this.volume = volume;
      this.ag = ag;
      this.agStart = agStart;
      this.agLength = agLength;
      this.blockSize = blockSize;
      this.v5 = v5;
      this.header = v5 ? 56 : 16;
    }

    void collect(long agBlock, int level) throws IOException {
      if (agBlock == 0 || agBlock >= agLength || ++blocksVisited > agLength) {
        throw new FilesystemException("AG " + ag + ": free-space btree points at block " + agBlock);
      }
      ByteBuffer b =
          big(
              VolumeReads.read(
                  volume,
                  (agStart + agBlock) * blockSize,
                  (int) blockSize,
                  "AG " + ag + " free-space btree block"));
      int magic = b.getInt(0);
      if (magic != (v5 ? BNO_MAGIC_V5 : BNO_MAGIC_V4)) {
        throw new FilesystemException(
            String.format("AG %d block %d: free-space btree magic %08x", ag, agBlock, magic));
      }
      int blockLevel = b.getShort(4) & 0xffff;
      int numrecs = b.getShort(6) & 0xffff;
      if (blockLevel != level) {
        throw new FilesystemException("AG " + ag + " block " + agBlock + ": wrong btree level");
      }
      int maxrecs = (int) ((blockSize - header) / (level == 0 ? 8 : 12));
      if (numrecs > maxrecs) {
        throw new FilesystemException("AG " + ag + " block " + agBlock + ": too many records");
      }
      if (level == 0) {
        for (int i = 0; i < numrecs; i++) {
          long start = u32(b, header + 8 * i);
          long length = u32(b, header + 8 * i + 4);
          if (length == 0 || start < lastEnd || start + length > agLength) {
            throw new FilesystemException(
                "AG " + ag + ": free extent " + start + "+" + length + " out of order or range");
          }
          add(start, length);
          lastEnd = start + length;
        }
        return;
      }
      // Node: keys first (maxrecs of them), then the child pointers.
      int ptrs = header + maxrecs * 8;
      for (int i = 0; i < numrecs; i++) {
        collect(u32(b, ptrs + 4 * i), level - 1);
      }
    }

    private void add(long start, long length) {
      if (count == starts.length) {
        starts = java.util.Arrays.copyOf(starts, count * 2);
        lengths = java.util.Arrays.copyOf(lengths, count * 2);
      }
      starts[count] = start;
      lengths[count] = length;
      count++;
      freeSum += length;
    }
  }

  private static ByteBuffer big(ByteBuffer b) {
    return b.order(ByteOrder.BIG_ENDIAN);
  }

  private static long u32(ByteBuffer b, int at) {
    return b.getInt(at) & 0xffffffffL;
  }
}
