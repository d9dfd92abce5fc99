package dev.imprint.engine.partition;

/**
 * GUIDs as GPT stores them: the first three fields little-endian, the last eight bytes in order
 * (the Microsoft "mixed-endian" layout). Printed canonical and uppercase, as sgdisk prints them.
 */
final class Guid {
  private Guid() {}

  static String format(byte[] b, int off) {
    return String.format(
        "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
        le32(b, off),
        le16(b, off + 4),
        le16(b, off + 6),
        b[off + 8],
        b[off + 9],
        b[off + 10],
        b[off + 11],
        b[off + 12],
        b[off + 13],
        b[off + 14],
        b[off + 15]);
  }

  /** A random (version 4, RFC 4122 variant) GUID in GPT's byte order. */
  static byte[] random(java.util.Random random) {
    byte[] g = new byte[16];
    random.nextBytes(g);
    g[7] = (byte) ((g[7] & 0x0f) | 0x40); // version: the high nibble of the little-endian field 3
    g[8] = (byte) ((g[8] & 0x3f) | 0x80);
    return g;
  }

  static boolean isZero(byte[] b, int off) {
    for (int i = 0; i < 16; i++) {
      if (b[off + i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static int le32(byte[] b, int off) {
    return (b[off] & 0xff)
        | (b[off + 1] & 0xff) << 8
        | (b[off + 2] & 0xff) << 16
        | (b[off + 3] & 0xff) << 24;
  }

  private static int le16(byte[] b, int off) {
    return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
  }
}
