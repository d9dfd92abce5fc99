package dev.imprint.engine.fec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Arithmetic in GF(2^8) with the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and
 * generator 2: addition is XOR; multiplication goes through log/exp tables once, into a full 256 x
 * 256 product table that the codec's inner loops index.
 */
public final class Gf256 {
  /** The field's reduction polynomial, with the x^8 term. */
  public static final int POLYNOMIAL = 0x11D;

  static final int[] EXP = new int[512];
  static final int[] LOG = new int[256];

  /** MUL[(a << 8) | b] = a * b: row {@code a << 8} is "multiply by a". */
  static final byte[] MUL = new byte[256 * 256];

  static final int[] INV = new int[256];

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  static {
    int x = 1;
    for (int i = 0; i < 255; i++) {
      EXP[i] = x;
      LOG[x] = i;
      x <<= 1;
      if (x >= 256) {
        x ^= POLYNOMIAL;
      }
    }
    // Doubled so that EXP[LOG[a] + LOG[b]] needs no modulo.
    for (int i = 255; i < 512; i++) {
      EXP[i] = EXP[i - 255];
    }
    for (int a = 1; a < 256; a++) {
      INV[a] = EXP[255 - LOG[a]];
      for (int b = 1; b < 256; b++) {
        MUL[(a << 8) | b] = (byte) EXP[LOG[a] + LOG[b]];
      }
    }
  }

  private Gf256() {}

  public static int mul(int a, int b) {
    return MUL[(a << 8) | b] & 0xff;
  }

  /** The multiplicative inverse; 0 has none. */
  public static int inv(int a) {
    if (a == 0) {
      throw new ArithmeticException("0 has no inverse in GF(256)");
    }
    return INV[a];
  }

  /** a^n by the tables. */
  public static int pow(int a, int n) {
    if (a == 0) {
      return n == 0 ? 1 : 0;
    }
    return EXP[(int) ((long) LOG[a] * n % 255)];
  }

  /**
   * dst[d..d+len) ^= c * src[s..s+len): the one loop encoding and decoding spend their time in. c =
   * 0 adds nothing; c = 1 is a plain XOR.
   */
  static void mulAdd(int c, byte[] src, int s, byte[] dst, int d, int len) {
    if (c == 0) {
      return;
    }
    if (c == 1) {
      for (int i = 0; i < len; i++) {
        dst[d + i] ^= src[s + i];
      }
      return;
    }
    byte[] mul = MUL;
    int row = c << 8;
    int i = 0;
    // Eight bytes a step: one long load and store instead of eight; the table loads remain.
    for (; i + 8 <= len; i += 8) {
      long v = (long) LONGS.get(src, s + i);
      long m =
          (mul[row | (int) (v & 0xff)] & 0xffL)
              | (mul[row | (int) ((v >>> 8) & 0xff)] & 0xffL) << 8
              | (mul[row | (int) ((v >>> 16) & 0xff)] & 0xffL) << 16
              | (mul[row | (int) ((v >>> 24) & 0xff)] & 0xffL) << 24
              | (mul[row | (int) ((v >>> 32) & 0xff)] & 0xffL) << 32
              | (mul[row | (int) ((v >>> 40) & 0xff)] & 0xffL) << 40
              | (mul[row | (int) ((v >>> 48) & 0xff)] & 0xffL) << 48
              | (mul[row | (int) (v >>> 56)] & 0xffL) << 56;
      LONGS.set(dst, d + i, (long) LONGS.get(dst, d + i) ^ m);
    }
    for (; i < len; i++) {
      dst[d + i] ^= mul[row | (src[s + i] & 0xff)];
    }
  }

  /** dst[d..d+len) = c * src[s..s+len). */
  static void mulSet(int c, byte[] src, int s, byte[] dst, int d, int len) {
    byte[] mul = MUL;
    int row = c << 8;
    for (int i = 0; i < len; i++) {
      dst[d + i] = mul[row | (src[s + i] & 0xff)];
    }
  }
}
