package dev.imprint.engine.container.vhd;

import dev.imprint.engine.container.BlockMap;
import dev.imprint.engine.container.BlockMappedDisk;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Microsoft's VHD (Virtual PC, Hyper-V, qemu's "vpc"): fixed (the disk, then a 512-byte footer) and
 * dynamic (a footer copy, a dynamic header, a block allocation table, blocks each led by a sector
 * bitmap). The footer and dynamic header checksums are checked, and the table, when opened.
 * Differencing disks are refused: they hold only changes to a parent.
 */
public final class Vhd implements ContainerFormat {
  static final int FOOTER = 512;
  private static final int DYNAMIC_HEADER = 1024;
  private static final byte[] COOKIE = "conectix".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SPARSE_COOKIE = "cxsparse".getBytes(StandardCharsets.US_ASCII);

  private static final int TYPE_FIXED = 2;
  private static final int TYPE_DYNAMIC = 3;
  private static final int TYPE_DIFFERENCING = 4;

  private static final long UNALLOCATED = 0xffff_ffffL;

  /** Far beyond VHD's own 2040 GiB limit: larger is a damaged field, not a disk. */
  private static final long MAX_SIZE = 1L << 46;

  @Override
  public String name() {
    return "VHD";
  }

  @Override
  public boolean recognizes(RandomAccessInput in) throws IOException {
    long size = in.size();
    if (size < FOOTER) {
      return false;
    }
    // The footer is at the end; a dynamic disk keeps a copy at the start too (found when cut).
    return hasCookie(in, size - FOOTER) || hasCookie(in, 0);
  }

  private static boolean hasCookie(RandomAccessInput in, long at) throws IOException {
    return BlockMappedDisk.hasMagic(in, at, COOKIE);
  }

  @Override
  public ContainerDisk open(RandomAccessInput in) throws IOException {
    String where = "VHD image " + in.description();
    long fileSize = in.size();
    if (!hasCookie(in, fileSize - FOOTER)) {
      throw new ImageDamagedException(
          where
              + ": its footer is missing from the last 512 bytes (only the copy at the start is"
              + " there): the image is truncated (copy it again)");
    }
    ByteBuffer footer = read(in, fileSize - FOOTER, FOOTER, where);
    checkSum(footer, 64, where, "footer");
    int type = footer.getInt(60);
    long size = footer.getLong(48);
    String creator =
        new String(footer.array(), 28, 4, StandardCharsets.US_ASCII).trim()
            + " "
            + (footer.getShort(32) & 0xffff)
            + "."
            + (footer.getShort(34) & 0xffff);
    if (type == TYPE_DIFFERENCING) {
      throw new ContainerRefusedException(
          where
              + " is a differencing disk and holds only changes to its parent: merge it first"
              + " (qemu-img convert -O vpc, or Hyper-V's Merge) and give the result");
    }
    if (type != TYPE_FIXED && type != TYPE_DYNAMIC) {
      throw ImageDamagedException.field(
          where, "disk type", type, "is none of fixed (2), dynamic (3) or differencing (4)");
    }
    if (size <= 0 || size % 512 != 0 || size > MAX_SIZE) {
      throw ImageDamagedException.field(
          where, "current size", Long.toUnsignedString(size), "is no disk size a VHD can have");
    }
    if (type == TYPE_FIXED) {
      if (size > fileSize - FOOTER) {
        throw new ImageDamagedException(
            where
                + ": its footer says the disk is "
                + size
                + " bytes, but the file holds "
                + (fileSize - FOOTER)
                + " before the footer: the image is truncated (copy it again)");
      }
      int bs = 2 << 20;
      BlockMap.Builder b = BlockMap.builder(bs, size);
      if (b.blocks() > 0) {
        b.add(0, b.blocks(), BlockMap.Kind.STORED, 0, 0);
      }
      return new VhdDisk(this, in, b.build(), false, 0, 0, creator);
    }
    long headerOffset = footer.getLong(16);
    if (headerOffset < FOOTER || headerOffset > fileSize - FOOTER - DYNAMIC_HEADER) {
      throw ImageDamagedException.field(
          where,
          "data offset",
          Long.toUnsignedString(headerOffset),
          "does not point at a dynamic header inside the file");
    }
    ByteBuffer header = read(in, headerOffset, DYNAMIC_HEADER, where);
    for (int i = 0; i < SPARSE_COOKIE.length; i++) {
      if (header.get(i) != SPARSE_COOKIE[i]) {
        throw new ImageDamagedException(
            where
                + ": no dynamic header (cxsparse) at byte "
                + headerOffset
                + ", where the footer says it is: the image is damaged (copy it again)");
      }
    }
    checkSum(header, 36, where, "dynamic header");
    long tableOffset = header.getLong(16);
    long entries = Integer.toUnsignedLong(header.getInt(28));
    long blockSize = Integer.toUnsignedLong(header.getInt(32));
    if (blockSize < 512 || blockSize > (256 << 20) || Long.bitCount(blockSize) != 1) {
      throw ImageDamagedException.field(
          where, "block size", blockSize, "is not a power of two from 512 bytes to 256 MiB");
    }
    int bs = (int) blockSize;
    long blocks = (size + bs - 1) / bs;
    if (entries < blocks || entries > blocks + (1 << 20)) {
      throw ImageDamagedException.field(
          where, "max table entries", entries, "does not fit a disk of " + blocks + " blocks");
    }
    long tableBytes = (entries * 4 + 511) / 512 * 512;
    if (tableOffset < FOOTER || tableOffset > fileSize - FOOTER - tableBytes) {
      throw ImageDamagedException.field(
          where,
          "table offset",
          Long.toUnsignedString(tableOffset),
          "places the block allocation table past the end of the file");
    }
    ByteBuffer bat = read(in, tableOffset, (int) (blocks * 4), where);
    int bitmap = (int) (((blockSize / 512 + 7) / 8 + 511) / 512 * 512);
    List<Extent> metadata = new ArrayList<>();
    metadata.add(new Extent(0, FOOTER));
    metadata.add(new Extent(headerOffset, DYNAMIC_HEADER));
    metadata.add(new Extent(tableOffset, tableBytes));
    metadata.add(new Extent(fileSize - FOOTER, FOOTER));
    BlockMap.Builder b = BlockMap.builder(bs, size);
    long allocated = 0;
    for (int i = 0; i < blocks; i++) {
      long sector = Integer.toUnsignedLong(bat.getInt(i * 4));
      if (sector == UNALLOCATED) {
        continue;
      }
      long at = sector * 512;
      metadata.add(new Extent(at, bitmap));
      b.add(i, 1, BlockMap.Kind.STORED, at + bitmap, 0);
      allocated++;
    }
    BlockMap map = b.build();
    map.checkPlacement(metadata, fileSize, where, "block");
    return new VhdDisk(this, in, map, true, allocated, blocks, creator);
  }

  /** The one's complement of the byte sum, with the checksum field itself taken as zero. */
  private static void checkSum(ByteBuffer b, int field, String where, String what)
      throws ImageDamagedException {
    int sum = 0;
    for (int i = 0; i < b.capacity(); i++) {
      if (i < field || i >= field + 4) {
        sum += b.get(i) & 0xff;
      }
    }
    int stored = b.getInt(field);
    if (~sum != stored) {
      throw new ImageDamagedException(
          where
              + ": the "
              + what
              + " checksum is "
              + String.format("0x%08x", stored)
              + " but its bytes sum to "
              + String.format("0x%08x", ~sum)
              + ": the image is damaged (copy it again)");
    }
  }

  private static ByteBuffer read(RandomAccessInput in, long offset, int length, String where)
      throws IOException {
    return BlockMappedDisk.readTable(in, offset, length, where);
  }
}
