package dev.imprint.engine.container.udif;

import dev.imprint.engine.image.ImageDamagedException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A blkx table ("mish" block, big endian), one per partition of the disk:
 *
 * <pre>
 *   0 "mish"   4 version (1)   8 first sector   16 sector count   24 data offset
 *  32 buffers needed   36 block descriptors   40 reserved (24)   64 checksum (136)
 * 200 chunk count   204 chunks, 40 bytes each:
 *      0 type   4 comment   8 first sector (from the table's)   16 sector count
 *     24 stored offset (from the data fork + data offset)   32 stored length
 * </pre>
 *
 * Sectors are 512 bytes. Zero-fill and ignore chunks store nothing; comment chunks describe
 * nothing; a terminator ends the list.
 */
record BlockTable(
    int index,
    String name,
    long firstSector,
    long sectorCount,
    UdifChecksum checksum,
    List<Chunk> chunks) {
  static final int MAGIC = 0x6d697368; // "mish"
  static final int HEADER = 204;
  static final int ENTRY = 40;
  static final int SECTOR = 512;

  /**
   * Larger decoded chunks are not UDIF as hdiutil writes it (1 MiB and less), and too big to
   * buffer.
   */
  static final long MAX_DECODED = 64L << 20;

  /**
   * Parses and checks one table.
   *
   * @param where "FILE blkx N (NAME)", for messages
   * @param diskSectors the disk's size in sectors (koly)
   * @param forkStart the data fork's offset in the file
   * @param forkEnd the data fork's end in the file
   */
  static BlockTable parse(
      int index,
      String name,
      byte[] data,
      String where,
      long diskSectors,
      long forkStart,
      long forkEnd)
      throws ImageDamagedException {
    ByteBuffer b = ByteBuffer.wrap(data);
    if (data.length < HEADER) {
      throw ImageDamagedException.field(
          where, "table length", data.length, "is shorter than a blkx header (204 bytes)");
    }
    if (b.getInt(0) != MAGIC) {
      throw ImageDamagedException.field(
          where, "signature", String.format("0x%08x", b.getInt(0)), "is not \"mish\"");
    }
    long first = b.getLong(8);
    long count = b.getLong(16);
    long dataOffset = b.getLong(24);
    if (first < 0 || count < 0 || first > diskSectors || count > diskSectors - first) {
      throw ImageDamagedException.field(
          where,
          "sectors",
          first + "+" + count,
          "pass the disk's end (" + diskSectors + " sectors)");
    }
    if (dataOffset < 0 || dataOffset > forkEnd - forkStart) {
      throw ImageDamagedException.field(
          where, "data offset", dataOffset, "passes the data fork's end");
    }
    UdifChecksum checksum = UdifChecksum.parse(b, 64);
    long n = b.getInt(200) & 0xffffffffL;
    if (n > (data.length - HEADER) / ENTRY) {
      throw ImageDamagedException.field(
          where, "chunk count", n, "is more than its " + data.length + " bytes hold");
    }
    List<Chunk> chunks = new ArrayList<>();
    long next = 0;
    for (int i = 0; i < n; i++) {
      int at = HEADER + i * ENTRY;
      int type = b.getInt(at);
      if (type == Chunk.TERMINATOR) {
        break;
      }
      if (type == Chunk.COMMENT) {
        continue;
      }
      String chunkWhere = where + " chunk " + i;
      if (type != Chunk.ZERO_FILL
          && type != Chunk.RAW
          && type != Chunk.IGNORE
          && !Chunk.compressed(type)) {
        throw ImageDamagedException.field(
            chunkWhere, "type", String.format("0x%08x", type), "is not a UDIF chunk type");
      }
      long cFirst = b.getLong(at + 8);
      long cCount = b.getLong(at + 16);
      long stored = b.getLong(at + 24);
      long storedLength = b.getLong(at + 32);
      if (cFirst < next || cCount < 0 || cFirst > count || cCount > count - cFirst) {
        throw ImageDamagedException.field(
            chunkWhere,
            "sectors",
            cFirst + "+" + cCount,
            "overlap the chunk before or pass the table's " + count + " sectors");
      }
      next = cFirst + cCount;
      if (cCount == 0) {
        continue;
      }
      long length = cCount * SECTOR;
      long storedAt = 0;
      if (type == Chunk.RAW || Chunk.compressed(type)) {
        long room = forkEnd - forkStart - dataOffset;
        if (stored < 0 || storedLength <= 0 || stored > room || storedLength > room - stored) {
          throw ImageDamagedException.field(
              chunkWhere,
              "stored range",
              stored + "+" + storedLength,
              "passes the data fork's end");
        }
        storedAt = forkStart + dataOffset + stored;
        if (type == Chunk.RAW && storedLength != length) {
          throw ImageDamagedException.field(
              chunkWhere,
              "stored length",
              storedLength,
              "differs from its " + length + " raw bytes");
        }
        if (Chunk.compressed(type)
            && (length > MAX_DECODED || storedLength > length + length / 16 + (64 << 10))) {
          throw ImageDamagedException.field(
              chunkWhere,
              "size",
              storedLength + " bytes for " + length,
              "is beyond what a " + Chunk.name(type) + " chunk can be");
        }
      } else {
        storedLength = 0;
      }
      chunks.add(new Chunk(type, (first + cFirst) * SECTOR, length, storedAt, storedLength, index));
    }
    return new BlockTable(index, name, first, count, checksum, List.copyOf(chunks));
  }
}
