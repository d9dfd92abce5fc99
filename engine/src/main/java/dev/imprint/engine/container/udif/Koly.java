package dev.imprint.engine.container.udif;

import java.nio.ByteBuffer;

/**
 * The 512-byte UDIF trailer ("koly" block) at the end of a .dmg, big endian:
 *
 * <pre>
 *   0 "koly"   4 version (4)   8 header size (512)   12 flags
 *  16 running data fork offset   24 data fork offset   32 data fork length
 *  40 resource fork offset       48 resource fork length
 *  56 segment number   60 segment count   64 segment UUID (16)
 *  80 data fork checksum (136)   216 XML plist offset   224 XML plist length
 * 232 reserved (120)   352 master checksum (136)   488 image variant   492 sector count
 * 500 reserved (12)
 * </pre>
 */
record Koly(
    int version,
    int flags,
    long dataForkOffset,
    long dataForkLength,
    long resourceForkLength,
    int segmentNumber,
    int segmentCount,
    UdifChecksum dataForkChecksum,
    long xmlOffset,
    long xmlLength,
    UdifChecksum masterChecksum,
    int imageVariant,
    long sectorCount) {
  static final int SIZE = 512;
  static final int MAGIC = 0x6b6f6c79; // "koly"

  static boolean isKoly(ByteBuffer b) {
    return b.limit() >= SIZE && b.getInt(0) == MAGIC && b.getInt(8) == SIZE;
  }

  static Koly parse(ByteBuffer b) {
    return new Koly(
        b.getInt(4),
        b.getInt(12),
        b.getLong(24),
        b.getLong(32),
        b.getLong(48),
        b.getInt(56),
        b.getInt(60),
        UdifChecksum.parse(b, 80),
        b.getLong(216),
        b.getLong(224),
        UdifChecksum.parse(b, 352),
        b.getInt(488),
        b.getLong(492));
  }
}
