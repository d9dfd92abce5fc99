package dev.imprint.engine.container.udif;

import dev.imprint.engine.container.ContainerExtent;

/**
 * One entry of a blkx table, resolved to bytes: a run of the disk and where (and how) the container
 * stores it.
 *
 * @param type the UDIF chunk type (see {@link #name(int)})
 * @param diskOffset first byte on the disk
 * @param length bytes on the disk
 * @param storedOffset first byte in the .dmg file (data fork offset + table data offset + entry
 *     offset)
 * @param storedLength bytes in the file (0 for zero-fill and ignore)
 * @param table index of the blkx table in the property list, or −1 for a gap inside a table
 */
record Chunk(
    int type, long diskOffset, long length, long storedOffset, long storedLength, int table) {
  static final int ZERO_FILL = 0x00000000;
  static final int RAW = 0x00000001;
  static final int IGNORE = 0x00000002;
  static final int ADC = 0x80000004;
  static final int ZLIB = 0x80000005;
  static final int BZIP2 = 0x80000006;
  static final int LZFSE = 0x80000007;
  static final int LZMA = 0x80000008;
  static final int COMMENT = 0x7ffffffe;
  static final int TERMINATOR = 0xffffffff;

  static boolean compressed(int type) {
    return type == ADC || type == ZLIB || type == BZIP2 || type == LZFSE || type == LZMA;
  }

  static String name(int type) {
    return switch (type) {
      case ZERO_FILL -> "zero fill";
      case RAW -> "raw";
      case IGNORE -> "ignore";
      case ADC -> "ADC";
      case ZLIB -> "zlib";
      case BZIP2 -> "bzip2";
      case LZFSE -> "LZFSE";
      case LZMA -> "LZMA";
      case COMMENT -> "comment";
      case TERMINATOR -> "terminator";
      default -> String.format("0x%08x", type);
    };
  }

  long end() {
    return diskOffset + length;
  }

  long storedEnd() {
    return storedOffset + storedLength;
  }

  /** Whether reading it touches the file (raw or compressed). */
  boolean stored() {
    return type == RAW || compressed(type);
  }

  ContainerExtent.Kind kind() {
    return switch (type) {
      case RAW, ADC, ZLIB, BZIP2, LZFSE, LZMA -> ContainerExtent.Kind.DATA;
      case IGNORE -> ContainerExtent.Kind.UNALLOCATED;
      default -> ContainerExtent.Kind.ZERO;
    };
  }
}
