package dev.imprint.engine.fec;

/**
 * A systematic Reed-Solomon erasure code over GF(2^8) in Cauchy form (docs/PROTOCOL.md, "Forward
 * error correction"). A block has k source symbols (indices 0..k-1, sent as they are) and up to 256
 * - k parity symbols (indices k..255); any k distinct symbols of a block rebuild it.
 *
 * <p>Parity symbol p is the sum over the sources j of C(p, j) * source j, byte by byte, with C(p,
 * j) = 1 / (p XOR j) in GF(2^8). The generator [I; C] is MDS because every square submatrix of a
 * Cauchy matrix (x_p = p and y_j = j drawn from disjoint sets) is invertible. A coefficient does
 * not depend on k, so one 256 x 256 table serves every block size.
 */
public final class ReedSolomon {
  /** Symbols a block can have at most, source and parity together. */
  public static final int MAX_SYMBOLS = 256;

  /** COEF[(p << 8) | j] = 1 / (p ^ j); zero where p == j (never used). */
  private static final int[] COEF = new int[MAX_SYMBOLS * MAX_SYMBOLS];

  static {
    for (int p = 0; p < MAX_SYMBOLS; p++) {
      for (int j = 0; j < MAX_SYMBOLS; j++) {
        COEF[(p << 8) | j] = p == j ? 0 : Gf256.INV[p ^ j];
      }
    }
  }

  private ReedSolomon() {}

  /** The coefficient of source symbol {@code j} in parity symbol {@code p} (p ≥ k > j). */
  public static int coefficient(int p, int j) {
    return COEF[(p << 8) | j];
  }

  /** Refuses a block size the code cannot carry. */
  public static void checkK(int k) {
    if (k < 1 || k >= MAX_SYMBOLS) {
      throw new IllegalArgumentException(
          "a block has 1 to " + (MAX_SYMBOLS - 1) + " source symbols, not " + k);
    }
  }

  /**
   * Refuses parity indices p[0..count) outside k..255, and a block of k symbols of {@code size}
   * bytes (sources at {@code from}, count parity symbols at {@code outFrom}) its buffers can't
   * hold.
   */
  static void checkBlock(
      int k, int size, byte[] source, int from, int[] p, int count, byte[] out, int outFrom) {
    for (int q = 0; q < count; q++) {
      checkParity(k, p[q]);
    }
    if (size <= 0
        || from < 0
        || (long) from + (long) k * size > source.length
        || outFrom < 0
        || (long) outFrom + (long) count * size > out.length) {
      throw new IllegalArgumentException(
          "the block's " + k + " symbols of " + size + " bytes do not fit the buffers given");
    }
  }

  /** Refuses a parity index outside k..255. */
  public static void checkParity(int k, int p) {
    if (p < k || p >= MAX_SYMBOLS) {
      throw new IllegalArgumentException(
          "parity symbol " + p + " of a block of " + k + " is outside " + k + ".." + 255);
    }
  }

  /**
   * Computes the {@code count} parity symbols {@code p[0..count)} of a block in one pass over its
   * sources, into {@code out} end to end from {@code outFrom}: what a sender does for a loop.
   * {@code coef} and {@code at} are work space of at least {@code count} entries, so nothing is
   * allocated.
   */
  public static void encode(
      int k,
      int size,
      byte[] source,
      int from,
      int[] p,
      int count,
      byte[] out,
      int outFrom,
      int[] coef,
      int[] at) {
    checkK(k);
    if (count < 0 || count > p.length || coef.length < count || at.length < count) {
      throw new IllegalArgumentException("work space for " + count + " parity symbols is missing");
    }
    checkBlock(k, size, source, from, p, count, out, outFrom);
    java.util.Arrays.fill(out, outFrom, outFrom + count * size, (byte) 0);
    for (int q = 0; q < count; q++) {
      at[q] = outFrom + q * size;
    }
    for (int j = 0; j < k; j++) {
      for (int q = 0; q < count; q++) {
        coef[q] = COEF[(p[q] << 8) | j];
      }
      Gf256.mulAddMany(coef, count, source, from + j * size, out, at, size);
    }
  }

  /**
   * Computes parity symbol {@code p} of a block whose {@code k} source symbols of {@code size}
   * bytes lie end to end in {@code source} from {@code from}, into {@code out} at {@code outFrom}.
   * Allocates nothing.
   */
  public static void encode(
      int k, int size, byte[] source, int from, int p, byte[] out, int outFrom) {
    checkK(k);
    checkParity(k, p);
    if (size <= 0
        || from < 0
        || (long) from + (long) k * size > source.length
        || outFrom < 0
        || (long) outFrom + size > out.length) {
      throw new IllegalArgumentException(
          "the block's " + k + " symbols of " + size + " bytes do not fit the buffers given");
    }
    int row = p << 8;
    Gf256.mulSet(COEF[row], source, from, out, outFrom, size);
    for (int j = 1; j < k; j++) {
      Gf256.mulAdd(COEF[row | j], source, from + j * size, out, outFrom, size);
    }
  }
}
