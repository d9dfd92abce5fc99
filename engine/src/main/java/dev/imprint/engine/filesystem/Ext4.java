package dev.imprint.engine.filesystem;

import static dev.imprint.engine.filesystem.VolumeReads.u16;
import static dev.imprint.engine.filesystem.VolumeReads.u32;
import static dev.imprint.engine.filesystem.VolumeReads.u8;

import dev.imprint.engine.source.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * ext2, ext3 and ext4: the used blocks are the set bits of each group's block bitmap. Groups whose
 * bitmap was never initialised (BLOCK_UNINIT, with uninit_bg or metadata_csum) hold only their own
 * superblock and descriptor backups plus any group's bitmaps and inode tables that flex_bg placed
 * there. Not supported (falls back): bigalloc.
 */
public final class Ext4 implements FilesystemReader {
  private static final int SUPERBLOCK_OFFSET = 1024;
  private static final int SUPERBLOCK_SIZE = 1024;
  private static final int MAGIC = 0xEF53;

  private static final int COMPAT_HAS_JOURNAL = 0x4;
  private static final int COMPAT_SPARSE_SUPER2 = 0x200;
  private static final int INCOMPAT_META_BG = 0x10;
  private static final int INCOMPAT_EXTENTS = 0x40;
  private static final int INCOMPAT_64BIT = 0x80;
  private static final int INCOMPAT_FLEX_BG = 0x200;
  private static final int RO_COMPAT_SPARSE_SUPER = 0x1;
  private static final int RO_COMPAT_GDT_CSUM = 0x10;
  private static final int RO_COMPAT_BIGALLOC = 0x200;
  private static final int RO_COMPAT_METADATA_CSUM = 0x400;
  private static final int BG_INODE_UNINIT = 0x1;
  private static final int BG_BLOCK_UNINIT = 0x2;
  private static final int BG_INODE_ZEROED = 0x4;

  @Override
  public String name() {
    return "ext4";
  }

  @Override
  public boolean probe(Volume volume) throws IOException {
    ByteBuffer sb = VolumeReads.head(volume, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE);
    // Two magic bytes alone turn up in other filesystems' tables (a FAT16 FAT can hold them at
    // this offset); a revision level and a block size make a superblock.
    return sb != null
        && u16(sb, 0x38) == MAGIC
        && Integer.compareUnsigned(sb.getInt(0x4C), 1) <= 0
        && Integer.compareUnsigned(sb.getInt(0x18), 6) <= 0;
  }

  @Override
  public AllocationMap allocation(Volume volume) throws IOException {
    ByteBuffer sb = VolumeReads.read(volume, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, "ext4 superblock");
    if (u16(sb, 0x38) != MAGIC) {
      throw new FilesystemException("no ext2/3/4 superblock magic");
    }
    int compat = sb.getInt(0x5C);
    int incompat = sb.getInt(0x60);
    int roCompat = sb.getInt(0x64);
    if ((roCompat & RO_COMPAT_METADATA_CSUM) != 0) {
      checkSuperblockChecksum(sb);
    }
    if ((roCompat & RO_COMPAT_BIGALLOC) != 0) {
      throw new FilesystemException("bigalloc (cluster bitmaps) is not supported");
    }
    long logBlock = u32(sb, 0x18);
    if (logBlock > 6) {
      throw new FilesystemException("block size 2^(10+" + logBlock + ") is out of range");
    }
    int blockSize = 1024 << logBlock;
    boolean is64 = (incompat & INCOMPAT_64BIT) != 0;
    long blocksCount = u32(sb, 0x04) | (is64 ? u32(sb, 0x150) << 32 : 0);
    long firstDataBlock = u32(sb, 0x14);
    long blocksPerGroup = u32(sb, 0x20);
    long inodesPerGroup = u32(sb, 0x28);
    long inodesCount = u32(sb, 0x00);
    int inodeSize = u32(sb, 0x4C) == 0 ? 128 : u16(sb, 0x58);
    if (firstDataBlock != (blockSize == 1024 ? 1 : 0)) {
      throw new FilesystemException(
          "first data block " + firstDataBlock + " does not fit block size " + blockSize);
    }
    if (blocksPerGroup == 0 || blocksPerGroup > 8L * blockSize || blocksPerGroup % 8 != 0) {
      throw new FilesystemException(
          blocksPerGroup + " blocks per group do not fit a " + blockSize + "-byte bitmap");
    }
    if (blocksCount <= firstDataBlock) {
      throw new FilesystemException("block count " + blocksCount + " is too small");
    }
    if (blocksCount > volume.length() / blockSize) {
      throw new FilesystemException(
          "the filesystem ("
              + blocksCount * blockSize
              + " bytes) is larger than its volume ("
              + volume.length()
              + " bytes)");
    }
    long groups = (blocksCount - firstDataBlock + blocksPerGroup - 1) / blocksPerGroup;
    if (inodesPerGroup == 0 || inodesCount != inodesPerGroup * groups) {
      throw new FilesystemException(
          inodesCount + " inodes do not equal " + groups + " groups of " + inodesPerGroup);
    }
    if (inodeSize < 128 || !VolumeReads.isPowerOfTwo(inodeSize) || inodeSize > blockSize) {
      throw new FilesystemException("inode size " + inodeSize + " is out of range");
    }
    int descSize = 32;
    if (is64) {
      descSize = u16(sb, 0xFE);
      if (descSize < 64 || descSize > 1024 || !VolumeReads.isPowerOfTwo(descSize)) {
        throw new FilesystemException("group descriptor size " + descSize + " is out of range");
      }
    }
    Layout layout =
        new Layout(
            blockSize,
            blocksCount,
            firstDataBlock,
            blocksPerGroup,
            groups,
            descSize,
            u16(sb, 0xCE),
            (incompat & INCOMPAT_META_BG) != 0 ? u32(sb, 0x104) : -1,
            (roCompat & RO_COMPAT_SPARSE_SUPER) != 0,
            (compat & COMPAT_SPARSE_SUPER2) != 0
                ? new long[] {u32(sb, 0x24C), u32(sb, 0x250)}
                : null);
    byte[] descs = readDescriptors(volume, layout);
    boolean groupCsum = (roCompat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM)) != 0;
    long inodeTableBlocks = (inodesPerGroup * inodeSize + blockSize - 1) / blockSize;

    UsedRanges used = new UsedRanges(volume.length());
    List<Extent> lazyTails = new ArrayList<>();
    // The boot block and the primary superblock, whatever the block size.
    used.add(0, SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE);
    used.add(0, firstDataBlock * blockSize);
    int uninit = 0;
    ByteBuffer d = ByteBuffer.wrap(descs).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (long g = 0; g < groups; g++) {
      int at = (int) (g * descSize);
      long blockBitmap = u32(d, at) | (is64 ? u32(d, at + 0x20) << 32 : 0);
      long inodeBitmap = u32(d, at + 0x04) | (is64 ? u32(d, at + 0x24) << 32 : 0);
      long inodeTable = u32(d, at + 0x08) | (is64 ? u32(d, at + 0x28) << 32 : 0);
      int flags = u16(d, at + 0x12);
      checkInside(blockBitmap, 1, blocksCount, "block bitmap", g);
      checkInside(inodeBitmap, 1, blocksCount, "inode bitmap", g);
      checkInside(inodeTable, inodeTableBlocks, blocksCount, "inode table", g);
      // Every group's metadata is used wherever flex_bg put it: this also covers BLOCK_UNINIT
      // groups that hold other groups' tables.
      used.add(blockBitmap * blockSize, blockSize);
      used.add(inodeBitmap * blockSize, blockSize);
      used.add(inodeTable * blockSize, inodeTableBlocks * blockSize);
      if (groupCsum && (flags & BG_INODE_ZEROED) == 0) {
        // The inode table's tail past the last inode ever used was never zeroed (mke2fs's lazy
        // itable init): the kernel and e2fsck read no inode there, so its old contents don't
        // matter, just as they didn't on the source.
        long unusedInodes =
            (flags & BG_INODE_UNINIT) != 0
                ? inodesPerGroup
                : Math.min(
                    inodesPerGroup,
                    u16(d, at + 0x1C) | (descSize >= 64 ? (long) u16(d, at + 0x32) << 16 : 0));
        long needed = ((inodesPerGroup - unusedInodes) * inodeSize + blockSize - 1) / blockSize;
        if (needed < inodeTableBlocks) {
          lazyTails.add(
              new Extent(
                  (inodeTable + needed) * blockSize, (inodeTableBlocks - needed) * blockSize));
        }
      }
      long first = firstDataBlock + g * blocksPerGroup;
      long count = Math.min(blocksPerGroup, blocksCount - first);
      if (groupCsum && (flags & BG_BLOCK_UNINIT) != 0) {
        uninit++;
        used.add(first * blockSize, layout.baseMetaBlocks(g) * blockSize);
        continue;
      }
      ByteBuffer bitmap =
          VolumeReads.read(
              volume, blockBitmap * blockSize, blockSize, "block bitmap of group " + g);
      used.addBitmap(bitmap.array(), 0, count, first, blockSize);
    }
    String variant = variant(compat, incompat, roCompat);
    String how =
        variant
            + " block bitmaps"
            + (uninit > 0 ? ", " + uninit + " of " + groups + " groups uninitialised" : "");
    long skipped = 0;
    for (Extent e : lazyTails) {
      skipped += e.length();
    }
    if (skipped > 0) {
      how += ", " + skipped / 1024 + " KiB of never-initialised inode tables skipped";
    }
    return new AllocationMap(variant, volume.length(), subtract(used.extents(), lazyTails), how);
  }

  /** {@code used} minus {@code holes}, both sorted or not, as sorted disjoint extents. */
  static List<Extent> subtract(List<Extent> used, List<Extent> holes) {
    if (holes.isEmpty()) {
      return used;
    }
    List<Extent> h = new ArrayList<>(holes);
    h.sort((a, b) -> Long.compare(a.offset(), b.offset()));
    List<Extent> out = new ArrayList<>();
    int j = 0;
    for (Extent u : used) {
      long at = u.offset();
      while (j < h.size() && h.get(j).end() <= at) {
        j++;
      }
      for (int k = j; k < h.size() && h.get(k).offset() < u.end(); k++) {
        Extent x = h.get(k);
        if (x.offset() > at) {
          out.add(new Extent(at, x.offset() - at));
        }
        at = Math.max(at, x.end());
      }
      if (at < u.end()) {
        out.add(new Extent(at, u.end() - at));
      }
    }
    return out;
  }

  private static String variant(int compat, int incompat, int roCompat) {
    if ((incompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG)) != 0
        || (roCompat & RO_COMPAT_METADATA_CSUM) != 0) {
      return "ext4";
    }
    return (compat & COMPAT_HAS_JOURNAL) != 0 ? "ext3" : "ext2";
  }

  private static void checkInside(long block, long count, long blocksCount, String what, long g)
      throws FilesystemException {
    if (block == 0 || block + count > blocksCount) {
      throw new FilesystemException(
          what + " of group " + g + " at block " + block + " lies outside the filesystem");
    }
  }

  /** metadata_csum: crc32c of the first 1020 bytes, stored without the final inversion. */
  private static void checkSuperblockChecksum(ByteBuffer sb) throws FilesystemException {
    if (u8(sb, 0x175) != 1) {
      throw new FilesystemException("unknown superblock checksum type " + u8(sb, 0x175));
    }
    CRC32C crc = new CRC32C();
    crc.update(sb.array(), 0, 0x3FC);
    long expected = ~crc.getValue() & 0xffffffffL;
    long stored = u32(sb, 0x3FC);
    if (expected != stored) {
      throw new FilesystemException(
          String.format(
              "superblock checksum mismatch (stored %08x, computed %08x)", stored, expected));
    }
  }

  /** Reads the group descriptor table (contiguous, or scattered in meta_bg groups). */
  private static byte[] readDescriptors(Volume volume, Layout l) throws IOException {
    long total = l.groups * l.descSize;
    if (total > Integer.MAX_VALUE - 8) {
      throw new FilesystemException(l.groups + " groups are too many");
    }
    byte[] out = new byte[(int) total];
    long perBlock = l.blockSize / l.descSize;
    long descBlocks = (l.groups + perBlock - 1) / perBlock;
    for (long i = 0; i < descBlocks; i++) {
      long block;
      if (l.firstMetaBg < 0 || i < l.firstMetaBg) {
        block = l.firstDataBlock + 1 + i;
      } else {
        // meta_bg: descriptor block i lives in the first group of meta group i (after its
        // superblock backup, if it has one).
        long group = i * perBlock;
        block = l.firstBlock(group) + (l.hasSuper(group) ? 1 : 0);
      }
      ByteBuffer b =
          VolumeReads.read(volume, block * l.blockSize, l.blockSize, "group descriptor block " + i);
      int n = (int) Math.min(l.blockSize, total - i * l.blockSize);
      b.get(0, out, (int) (i * l.blockSize), n);
    }
    return out;
  }

  /** The geometry that says where superblock and descriptor backups live. */
  private record Layout(
      int blockSize,
      long blocksCount,
      long firstDataBlock,
      long blocksPerGroup,
      long groups,
      int descSize,
      int reservedGdtBlocks,
      long firstMetaBg,
      boolean sparseSuper,
      long[] sparseSuper2) {

    long firstBlock(long group) {
      return firstDataBlock + group * blocksPerGroup;
    }

    boolean hasSuper(long group) {
      if (group == 0) {
        return true;
      }
      if (sparseSuper2 != null) {
        return group == sparseSuper2[0] || group == sparseSuper2[1];
      }
      if (group <= 1 || !sparseSuper) {
        return true;
      }
      if ((group & 1) == 0) {
        return false;
      }
      return isPower(group, 3) || isPower(group, 5) || isPower(group, 7);
    }

    private static boolean isPower(long n, int base) {
      long p = base;
      while (p < n) {
        p *= base;
      }
      return p == n;
    }

    /** Blocks at the start of a group taken by its superblock and descriptor copies. */
    long baseMetaBlocks(long group) {
      long perBlock = blockSize / descSize;
      long descBlocks = (groups + perBlock - 1) / perBlock;
      boolean sup = hasSuper(group);
      long n = sup ? 1 : 0;
      long metaGroup = group / perBlock;
      if (firstMetaBg < 0 || metaGroup < firstMetaBg) {
        if (sup) {
          n += firstMetaBg < 0 ? descBlocks + reservedGdtBlocks : firstMetaBg;
        }
      } else {
        long r = group % perBlock;
        if (r == 0 || r == 1 || r == perBlock - 1) {
          n++;
        }
      }
      return n;
    }
  }
}
