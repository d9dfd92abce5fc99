package dev.imprint.engine.container.udif;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * A UDIF checksum field: type (u32), size in bits (u32), then 128 bytes of which the first size/8
 * hold the value (big endian for CRC32). Type 2 with 32 bits is CRC-32 (as zlib); MD5, SHA-1 and
 * SHA-256 (types 4, 5 and 6 as hdiutil writes them) are recognised by their size in bits, so a
 * known size under an unexpected type number is still checked. Type 0 or size 0 is "none".
 */
record UdifChecksum(int type, int bits, byte[] value) {
  enum Algorithm {
    NONE("none", null),
    CRC32("CRC32", null),
    MD5("MD5", "MD5"),
    SHA1("SHA-1", "SHA-1"),
    SHA256("SHA-256", "SHA-256"),
    UNKNOWN("unknown", null);

    final String label;
    final String jdkName;

    Algorithm(String label, String jdkName) {
      this.label = label;
      this.jdkName = jdkName;
    }
  }

  static final int FIELD_SIZE = 136;

  /** Reads the field at {@code at} in {@code b} (big endian). */
  static UdifChecksum parse(ByteBuffer b, int at) {
    int type = b.getInt(at);
    int bits = b.getInt(at + 4);
    int n = bits > 0 && bits <= 1024 && bits % 8 == 0 ? bits / 8 : 0;
    byte[] v = new byte[n];
    b.get(at + 8, v);
    return new UdifChecksum(type, bits, v);
  }

  Algorithm algorithm() {
    if (type == 0 || bits == 0) {
      return Algorithm.NONE;
    }
    return switch (bits) {
      case 32 -> type == 2 ? Algorithm.CRC32 : Algorithm.UNKNOWN;
      case 128 -> Algorithm.MD5;
      case 160 -> Algorithm.SHA1;
      case 256 -> Algorithm.SHA256;
      default -> Algorithm.UNKNOWN;
    };
  }

  /** Whether this checksum is one Imprint computes and compares. */
  boolean checkable() {
    Algorithm a = algorithm();
    return a != Algorithm.NONE && a != Algorithm.UNKNOWN;
  }

  String label() {
    Algorithm a = algorithm();
    return a == Algorithm.UNKNOWN
        ? "type " + type + " of " + bits + " bits (not checked)"
        : a.label;
  }

  String hex() {
    return HexFormat.of().formatHex(value);
  }

  /** A running computation of this checksum's algorithm. */
  Running start() {
    return switch (algorithm()) {
      case CRC32 -> new Running(new CRC32(), null);
      case MD5, SHA1, SHA256 -> {
        try {
          yield new Running(null, MessageDigest.getInstance(algorithm().jdkName));
        } catch (NoSuchAlgorithmException e) {
          throw new IllegalStateException(e);
        }
      }
      default -> throw new IllegalStateException("not checkable: " + label());
    };
  }

  /** Whether {@code computed} (from {@link Running#finish}) equals the stored value. */
  boolean matches(byte[] computed) {
    return Arrays.equals(value, computed);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof UdifChecksum c
        && c.type == type
        && c.bits == bits
        && Arrays.equals(c.value, value);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * type + bits) + Arrays.hashCode(value);
  }

  /** CRC-32 or a message digest, fed in pieces. */
  static final class Running {
    private final CRC32 crc;
    private final MessageDigest digest;

    private Running(CRC32 crc, MessageDigest digest) {
      this.crc = crc;
      this.digest = digest;
    }

    void update(byte[] b, int off, int len) {
      if (crc != null) {
        crc.update(b, off, len);
      } else {
        digest.update(b, off, len);
      }
    }

    void update(ByteBuffer b) {
      if (crc != null) {
        crc.update(b);
      } else {
        digest.update(b);
      }
    }

    /** Zeros, for zero-fill chunks. */
    void updateZeros(long n) {
      byte[] z = new byte[(int) Math.min(n, 1 << 16)];
      for (long left = n; left > 0; left -= z.length) {
        update(z, 0, (int) Math.min(left, z.length));
      }
    }

    byte[] finish() {
      if (crc != null) {
        long v = crc.getValue();
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
      }
      return digest.digest();
    }
  }
}
