package dev.imprint.engine.fec;

/**
 * Rebuilds the missing source symbols of a ready {@link FecBlock} in place. Holds its own work
 * space (a matrix and e symbols of scratch, grown once to the largest block seen), so decoding
 * allocates nothing per block; use one per thread.
 *
 * <p>With M the slots whose source is missing and P the parity symbols parked in them: first each
 * parked parity has the known sources' share removed (P' = P - sum over known j of C(p, j) * D_j),
 * leaving P' = A * D_M with A = C restricted to P x M, a Cauchy matrix and so invertible; then D_M
 * = A^-1 * P'.
 */
public final class Decoder {
  private int[] missing = new int[0];
  private int[] parity = new int[0];
  private int[] coef = new int[0];
  private int[] at = new int[0];
  private int[][] matrix = new int[0][];
  private byte[] scratch = new byte[0];
  private int[] known = new int[0];
  private int[] knownAt = new int[0];
  private final ParityEncoder rows;
  private final NativeProducts natives;

  public Decoder() {
    this(true);
  }

  /** {@code nativeKernels} false: the Java kernels even where ISA-L is present (tests). */
  Decoder(boolean nativeKernels) {
    rows = new ParityEncoder(nativeKernels);
    natives = nativeKernels && NativeProducts.AVAILABLE ? new NativeProducts() : null;
  }

  private byte[] inverse = new byte[0];

  /** Missing symbols from which the first pass uses {@link ParityEncoder}'s tables. */
  static final int TABLES_FROM = Integer.getInteger("imprint.fec.tablesFrom", 2);

  /** Decodes {@code b}; throws when it has fewer than k symbols. */
  public void decode(FecBlock b) {
    if (!b.ready()) {
      throw new IllegalArgumentException(
          "a block needs " + b.k() + " symbols to decode, it has " + b.count());
    }
    if (b.complete()) {
      return;
    }
    int k = b.k();
    int size = b.symbolSize();
    short[] holds = b.holds();
    byte[] data = b.data();
    grow(k, size);
    int e = 0;
    for (int m = 0; m < k; m++) {
      if (holds[m] != m) {
        missing[e] = m;
        parity[e] = holds[m];
        e++;
      }
    }
    // P' = P - the known sources' share: one pass over each known source for all e rows (8 rows
    // per table lookup when there are several; the tables cost about what one row's pass does).
    for (int a = 0; a < e; a++) {
      at[a] = missing[a] * size;
    }
    int n = 0;
    for (int j = 0, x = 0; j < k; j++) {
      if (x < e && missing[x] == j) {
        x++;
      } else {
        known[n] = j;
        knownAt[n++] = j * size;
      }
    }
    if (e >= TABLES_FROM || rows.isNative()) {
      rows.mulAdd(parity, e, known, n, data, knownAt, at, size);
    } else {
      for (int i = 0; i < n; i++) {
        for (int a = 0; a < e; a++) {
          coef[a] = ReedSolomon.coefficient(parity[a], known[i]);
        }
        Gf256.mulAddMany(coef, e, data, knownAt[i], data, at, size);
      }
    }
    invert(e);
    if (natives != null) {
      // D_M = A^-1 P' in one call: the inputs are copied out before the outputs land on them.
      if (inverse.length < e * e) {
        inverse = new byte[e * e];
      }
      for (int a = 0; a < e; a++) {
        for (int c = 0; c < e; c++) {
          inverse[a * e + c] = (byte) matrix[a][e + c];
        }
        at[a] = missing[a] * size;
      }
      natives.products(inverse, e, e, data, at, data, at, size, false, false);
      b.markDecoded();
      return;
    }
    // D_M = A^-1 P', through scratch since the inputs sit where the outputs go.
    java.util.Arrays.fill(scratch, 0, e * size, (byte) 0);
    for (int a = 0; a < e; a++) {
      at[a] = a * size;
    }
    for (int c = 0; c < e; c++) {
      for (int a = 0; a < e; a++) {
        coef[a] = matrix[a][e + c];
      }
      Gf256.mulAddMany(coef, e, data, missing[c] * size, scratch, at, size);
    }
    for (int a = 0; a < e; a++) {
      System.arraycopy(scratch, a * size, data, missing[a] * size, size);
    }
    b.markDecoded();
  }

  private void grow(int k, int size) {
    if (missing.length < k) {
      missing = new int[k];
      parity = new int[k];
      coef = new int[k];
      at = new int[k];
      known = new int[k];
      knownAt = new int[k];
      matrix = new int[k][2 * k];
    }
    if (scratch.length < k * size) {
      scratch = new byte[k * size];
    }
    if (matrix.length > 0 && matrix[0].length < 2 * k) {
      matrix = new int[matrix.length][2 * k];
    }
  }

  /** Gauss-Jordan on [A | I] (e x 2e); leaves A^-1 in columns e..2e-1. */
  private void invert(int e) {
    for (int r = 0; r < e; r++) {
      int[] row = matrix[r];
      for (int c = 0; c < e; c++) {
        row[c] = ReedSolomon.coefficient(parity[r], missing[c]);
        row[e + c] = r == c ? 1 : 0;
      }
    }
    for (int c = 0; c < e; c++) {
      int pivot = c;
      while (matrix[pivot][c] == 0) {
        pivot++; // a Cauchy matrix is invertible: some row has a non-zero here
      }
      int[] t = matrix[c];
      matrix[c] = matrix[pivot];
      matrix[pivot] = t;
      int[] pr = matrix[c];
      int scale = Gf256.inv(pr[c]);
      for (int x = 0; x < 2 * e; x++) {
        pr[x] = Gf256.mul(pr[x], scale);
      }
      for (int r = 0; r < e; r++) {
        int f = matrix[r][c];
        if (r != c && f != 0) {
          int[] rr = matrix[r];
          for (int x = 0; x < 2 * e; x++) {
            rr[x] ^= Gf256.mul(f, pr[x]);
          }
        }
      }
    }
  }
}
