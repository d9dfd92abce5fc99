package dev.imprint.engine.container.vhdx;

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
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Microsoft's VHDX ([MS-VHDX]): the file type identifier, the two headers (CRC-32C, the higher
 * sequence number wins), the region table (CRC-32C), the metadata table and the block allocation
 * table are read and checked when opened. A non-empty log (an unclean shutdown) is refused: Imprint
 * does not replay it. Differencing disks are refused.
 */
public final class Vhdx implements ContainerFormat {
  private static final byte[] SIGNATURE = "vhdxfile".getBytes(StandardCharsets.US_ASCII);
  private static final int KIB64 = 64 << 10;
  private static final int MIB = 1 << 20;
  private static final long[] HEADERS = {KIB64, 2 * KIB64};
  private static final long[] REGION_TABLES = {3 * KIB64, 4 * KIB64};
  private static final int HEADER_LENGTH = 4096;

  private static final byte[] BAT = guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
  private static final byte[] METADATA = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
  private static final byte[] FILE_PARAMETERS = guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
  private static final byte[] DISK_SIZE = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
  private static final byte[] DISK_ID = guid("BECA12AB-B2E6-4523-93EF-C309E000C746");
  private static final byte[] LOGICAL_SECTOR = guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
  private static final byte[] PHYSICAL_SECTOR = guid("CDA348C7-445D-4471-9CC9-E9885251C556");
  private static final byte[] PARENT_LOCATOR = guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

  private static final int NOT_PRESENT = 0;
  private static final int UNDEFINED = 1;
  private static final int ZERO = 2;
  private static final int UNMAPPED = 3;
  private static final int FULLY_PRESENT = 6;
  private static final int PARTIALLY_PRESENT = 7;

  /** The format's own limit. */
  private static final long MAX_SIZE = 64L << 40;

  @Override
  public String name() {
    return "VHDX";
  }

  @Override
  public boolean recognizes(RandomAccessInput in) throws IOException {
    return BlockMappedDisk.hasMagic(in, 0, SIGNATURE);
  }

  @Override
  public ContainerDisk open(RandomAccessInput in) throws IOException {
    String where = "VHDX image " + in.description();
    long fileSize = in.size();
    ByteBuffer header = currentHeader(in, where);
    if (header.getShort(66) != 1) {
      throw new ContainerRefusedException(
          where
              + " is VHDX version "
              + (header.getShort(66) & 0xffff)
              + ", which Imprint does not read (it reads version 1)");
    }
    if (!isZero(header, 48, 16)) {
      throw new ContainerRefusedException(
          where
              + " has a log that was never replayed (it was not closed cleanly): open it once with"
              + " Hyper-V, or run qemu-img check -r all on it, to replay the log, then give it"
              + " again");
    }
    ByteBuffer regions = regionTable(in, where);
    int count = regions.getInt(8);
    long batOffset = -1;
    long batLength = 0;
    long mdOffset = -1;
    long mdLength = 0;
    List<Extent> metadata = new ArrayList<>();
    metadata.add(new Extent(0, 5L * KIB64));
    long logOffset = header.getLong(72);
    long logLength = Integer.toUnsignedLong(header.getInt(68));
    if (logLength > 0) {
      metadata.add(new Extent(logOffset, logLength));
    }
    for (int i = 0; i < count; i++) {
      int e = 16 + i * 32;
      byte[] id = bytes(regions, e, 16);
      long off = regions.getLong(e + 16);
      long len = Integer.toUnsignedLong(regions.getInt(e + 24));
      boolean required = (regions.getInt(e + 28) & 1) != 0;
      if (off < MIB || off % MIB != 0 || len % MIB != 0) {
        throw ImageDamagedException.field(
            where, "region " + i + " offset", off, "is not a multiple of 1 MiB past the first");
      }
      if (Arrays.equals(id, BAT)) {
        batOffset = off;
        batLength = len;
      } else if (Arrays.equals(id, METADATA)) {
        mdOffset = off;
        mdLength = len;
      } else if (required) {
        throw new ContainerRefusedException(
            where
                + " needs a region Imprint does not know ("
                + guidText(id)
                + "): convert it with qemu-img convert -O vhdx (or -O raw)");
      }
      metadata.add(new Extent(off, len));
    }
    if (batOffset < 0 || mdOffset < 0) {
      throw new ImageDamagedException(
          where
              + ": its region table lacks the "
              + (batOffset < 0 ? "block allocation table" : "metadata region")
              + ": the image is damaged (copy it again)");
    }
    if (mdOffset > fileSize - KIB64 || mdLength < KIB64) {
      throw ImageDamagedException.field(
          where, "metadata region", mdOffset, "lies past the end of the file");
    }
    Metadata md = metadata(in, mdOffset, mdLength, where);
    int bs = md.blockSize;
    long size = md.diskSize;
    long chunkRatio = ((1L << 23) * md.logicalSector) / bs;
    long payloadBlocks = (size + bs - 1) / bs;
    long entries = payloadBlocks == 0 ? 0 : payloadBlocks + (payloadBlocks - 1) / chunkRatio;
    if (entries * 8 > batLength) {
      throw ImageDamagedException.field(
          where,
          "BAT region length",
          batLength,
          "is too small for " + entries + " entries (" + size + "-byte disk)");
    }
    if (batOffset > fileSize - entries * 8) {
      throw ImageDamagedException.field(
          where, "BAT region offset", batOffset, "places the table past the end of the file");
    }
    ByteBuffer bat = read(in, batOffset, (int) (entries * 8), where);
    BlockMap.Builder map = BlockMap.builder(bs, size);
    long[] states = new long[8];
    for (long block = 0; block < payloadBlocks; block++) {
      long index = block + block / chunkRatio;
      long e = bat.getLong((int) (index * 8));
      int state = (int) (e & 7);
      long offset = (e >>> 20) * MIB;
      if ((e & 0xffff8L) != 0) {
        throw ImageDamagedException.field(
            where,
            "BAT entry of block " + block,
            String.format("0x%016x", e),
            "has reserved bits set");
      }
      states[state]++;
      switch (state) {
        case NOT_PRESENT, UNDEFINED, UNMAPPED -> {
          // Contents undefined: whatever the target holds will do, as the format allows.
        }
        case ZERO -> map.add(block, 1, BlockMap.Kind.ZERO, 0, 0);
        case FULLY_PRESENT -> {
          if (offset < MIB) {
            throw ImageDamagedException.field(
                where, "BAT entry of block " + block, offset, "points into the file's header");
          }
          map.add(block, 1, BlockMap.Kind.STORED, offset, 0);
        }
        case PARTIALLY_PRESENT ->
            throw new ContainerRefusedException(
                where
                    + " holds partially present blocks, which only a differencing disk may: merge"
                    + " it with its parent first (qemu-img convert -O vhdx) and give the result");
        default ->
            throw ImageDamagedException.field(
                where,
                "BAT entry of block " + block,
                String.format("0x%016x", e),
                "has the reserved state " + state);
      }
    }
    BlockMap built = map.build();
    built.checkPlacement(metadata, fileSize, where, "block");
    return new VhdxDisk(
        this,
        in,
        built,
        header.getLong(8),
        md.logicalSector,
        states[FULLY_PRESENT],
        states[ZERO],
        payloadBlocks);
  }

  /** The valid header with the higher sequence number. */
  private static ByteBuffer currentHeader(RandomAccessInput in, String where) throws IOException {
    ByteBuffer best = null;
    for (long at : HEADERS) {
      if (at > in.size() - HEADER_LENGTH) {
        continue;
      }
      ByteBuffer h = read(in, at, HEADER_LENGTH, where);
      if (!startsWith(h, "head") || !crcMatches(h, 4)) {
        continue;
      }
      if (best == null || Long.compareUnsigned(h.getLong(8), best.getLong(8)) > 0) {
        best = h;
      }
    }
    if (best == null) {
      throw new ImageDamagedException(
          where
              + ": neither of its two headers (at 64 KiB and 128 KiB) is intact (signature and"
              + " CRC-32C): the image is truncated or damaged (copy it again)");
    }
    return best;
  }

  /** The first intact copy of the region table. */
  private static ByteBuffer regionTable(RandomAccessInput in, String where) throws IOException {
    for (long at : REGION_TABLES) {
      if (at > in.size() - KIB64) {
        continue;
      }
      ByteBuffer t = read(in, at, KIB64, where);
      if (startsWith(t, "regi") && crcMatches(t, 4)) {
        int count = t.getInt(8);
        if (count < 0 || count > 2047) {
          throw ImageDamagedException.field(where, "region entry count", count, "exceeds 2047");
        }
        return t;
      }
    }
    throw new ImageDamagedException(
        where
            + ": neither copy of its region table (at 192 KiB and 256 KiB) is intact (signature"
            + " and CRC-32C): the image is truncated or damaged (copy it again)");
  }

  private record Metadata(int blockSize, long diskSize, int logicalSector) {}

  private static Metadata metadata(RandomAccessInput in, long offset, long length, String where)
      throws IOException {
    ByteBuffer table = read(in, offset, KIB64, where);
    if (!startsWith(table, "metadata")) {
      throw new ImageDamagedException(
          where
              + ": no metadata table at byte "
              + offset
              + ", where its region table says: the image is damaged (copy it again)");
    }
    int count = table.getShort(10) & 0xffff;
    if (count > 2047) {
      throw ImageDamagedException.field(where, "metadata entry count", count, "exceeds 2047");
    }
    Integer blockSize = null;
    Long diskSize = null;
    Integer logical = null;
    for (int i = 0; i < count; i++) {
      int e = 32 + i * 32;
      byte[] id = bytes(table, e, 16);
      long off = Integer.toUnsignedLong(table.getInt(e + 16));
      long len = Integer.toUnsignedLong(table.getInt(e + 20));
      int flags = table.getInt(e + 24);
      boolean required = (flags & 4) != 0;
      boolean user = (flags & 1) != 0;
      if (len > MIB || off + len > length || (len > 0 && off < KIB64)) {
        throw ImageDamagedException.field(
            where, "metadata item " + i, off + "+" + len, "lies outside the metadata region");
      }
      if (user) {
        continue;
      }
      if (Arrays.equals(id, FILE_PARAMETERS) && len >= 8) {
        ByteBuffer v = read(in, offset + off, 8, where);
        blockSize = v.getInt(0);
        if ((v.getInt(4) & 2) != 0) {
          throw new ContainerRefusedException(
              where
                  + " is a differencing disk and holds only changes to its parent: merge it"
                  + " first (qemu-img convert -O vhdx) and give the result");
        }
      } else if (Arrays.equals(id, DISK_SIZE) && len >= 8) {
        diskSize = read(in, offset + off, 8, where).getLong(0);
      } else if (Arrays.equals(id, LOGICAL_SECTOR) && len >= 4) {
        logical = read(in, offset + off, 4, where).getInt(0);
      } else if (Arrays.equals(id, PARENT_LOCATOR)) {
        throw new ContainerRefusedException(
            where
                + " has a parent locator (a differencing disk): merge it with its parent first"
                + " (qemu-img convert -O vhdx) and give the result");
      } else if (required
          && !Arrays.equals(id, DISK_ID)
          && !Arrays.equals(id, PHYSICAL_SECTOR)
          && !Arrays.equals(id, FILE_PARAMETERS)
          && !Arrays.equals(id, DISK_SIZE)
          && !Arrays.equals(id, LOGICAL_SECTOR)) {
        throw new ContainerRefusedException(
            where
                + " needs a metadata item Imprint does not know ("
                + guidText(id)
                + "): convert it with qemu-img convert -O vhdx (or -O raw)");
      }
    }
    if (blockSize == null || diskSize == null || logical == null) {
      throw new ImageDamagedException(
          where
              + ": its metadata lacks the "
              + (blockSize == null
                  ? "file parameters"
                  : diskSize == null ? "virtual disk size" : "logical sector size")
              + ": the image is damaged (copy it again)");
    }
    if (blockSize < MIB || blockSize > (256 << 20) || Integer.bitCount(blockSize) != 1) {
      throw ImageDamagedException.field(
          where, "block size", blockSize, "is not a power of two from 1 MiB to 256 MiB");
    }
    if (logical != 512 && logical != 4096) {
      throw ImageDamagedException.field(where, "logical sector size", logical, "is not 512/4096");
    }
    if (diskSize <= 0 || diskSize > MAX_SIZE || diskSize % logical != 0) {
      throw ImageDamagedException.field(
          where,
          "virtual disk size",
          Long.toUnsignedString(diskSize),
          "is not a whole number of sectors up to 64 TiB");
    }
    return new Metadata(blockSize, diskSize, logical);
  }

  private static boolean crcMatches(ByteBuffer b, int field) {
    int stored = b.getInt(field);
    byte[] copy = b.array().clone();
    Arrays.fill(copy, field, field + 4, (byte) 0);
    CRC32C crc = new CRC32C();
    crc.update(copy);
    return (int) crc.getValue() == stored;
  }

  private static boolean startsWith(ByteBuffer b, String signature) {
    byte[] s = signature.getBytes(StandardCharsets.US_ASCII);
    return Arrays.equals(bytes(b, 0, s.length), s);
  }

  private static boolean isZero(ByteBuffer b, int off, int len) {
    for (int i = 0; i < len; i++) {
      if (b.get(off + i) != 0) {
        return false;
      }
    }
    return true;
  }

  private static byte[] bytes(ByteBuffer b, int off, int len) {
    return Arrays.copyOfRange(b.array(), off, off + len);
  }

  /** A GUID in its binary form: the first three fields little-endian, the rest in order. */
  static byte[] guid(String text) {
    byte[] hex = HexFormat.of().parseHex(text.replace("-", ""));
    byte[] b = hex.clone();
    for (int[] field : new int[][] {{0, 4}, {4, 2}, {6, 2}}) {
      for (int i = 0; i < field[1]; i++) {
        b[field[0] + i] = hex[field[0] + field[1] - 1 - i];
      }
    }
    return b;
  }

  private static String guidText(byte[] b) {
    byte[] canonical = guid(HexFormat.of().formatHex(b)); // the swap is its own inverse
    String h = HexFormat.of().withUpperCase().formatHex(canonical);
    return h.substring(0, 8)
        + "-"
        + h.substring(8, 12)
        + "-"
        + h.substring(12, 16)
        + "-"
        + h.substring(16, 20)
        + "-"
        + h.substring(20);
  }

  private static ByteBuffer read(RandomAccessInput in, long offset, int length, String where)
      throws IOException {
    return BlockMappedDisk.readTable(in, offset, length, where).order(ByteOrder.LITTLE_ENDIAN);
  }
}
