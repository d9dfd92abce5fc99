package dev.imprint.engine.fec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Computes a block's parity symbols as {@link ReedSolomon#encode(int, int, byte[], int, int[], int,
 * byte[], int, int[], int[])} does, for up to 8 of them per pass over the sources: for each source
 * symbol j a table of 256 longs holds, in byte q of entry b, the product of b with parity row q's
 * coefficient for j. One lookup and one XOR per source byte then serve 8 rows at once, into a
 * row-interleaved accumulator that is spread out to the rows at the end. The tables depend only on
 * k and the parity indices, which stay the same over a loop, so they are kept (a few per encoder)
 * and built again only when those change. One thread per encoder; nothing allocated per block once
 * warm.
 */
public final class ParityEncoder {
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** Parity rows one table serves: the bytes of a long. */
  static final int ROWS = 8;

  /** Tables kept per encoder: blocks have k or k + 1 sources, and parity grows in slabs. */
  private static final int KEPT = 8;

  /** Tables for one slab of rows: k sources × 256 byte values, each a long of row products. */
  private record Slab(int k, int[] p, long[] table) {
    boolean serves(int k, int[] p, int from, int rows) {
      return this.k == k && Arrays.equals(this.p, 0, this.p.length, p, from, from + rows);
    }
  }

  private final Slab[] kept = new Slab[KEPT];

  /** ISA-L's kernels when present (one per encoder, as the tables are). */
  private final NativeProducts natives;

  public ParityEncoder() {
    this(true);
  }

  /** {@code nativeKernels} false: the Java kernels even where ISA-L is present (tests). */
  ParityEncoder(boolean nativeKernels) {
    natives = nativeKernels && NativeProducts.AVAILABLE ? new NativeProducts() : null;
  }

  /** The coefficient matrix handed to ISA-L last (count × k), and the (k, p) it was made for. */
  private byte[] nativeCoef = new byte[0];

  private int[] coefFor;
  private int coefK;

  /** Fills nativeCoef for (k, p[0..count)); true if it already held them. */
  private boolean coefficients(int k, int[] p, int count) {
    if (coefFor != null && coefK == k && Arrays.equals(coefFor, 0, coefFor.length, p, 0, count)) {
      return true;
    }
    if (nativeCoef.length < count * k) {
      nativeCoef = new byte[count * k];
    }
    for (int q = 0; q < count; q++) {
      for (int j = 0; j < k; j++) {
        nativeCoef[q * k + j] = (byte) ReedSolomon.coefficient(p[q], j);
      }
    }
    coefFor = Arrays.copyOf(p, count);
    coefK = k;
    return false;
  }

  /** Whether this encoder hands its products to ISA-L. */
  boolean isNative() {
    return natives != null;
  }

  private int[] srcAt = new int[0];
  private int[] outAt = new int[0];
  private int[] all = new int[0];
  private long[] scratch = new long[0];
  private int next;
  private long[] acc = new long[0];

  /**
   * Computes the {@code count} parity symbols {@code p[0..count)} of a block whose {@code k} source
   * symbols of {@code size} bytes lie end to end in {@code source} from {@code from}, into {@code
   * out} end to end from {@code outFrom}.
   */
  public void encode(
      int k, int size, byte[] source, int from, int[] p, int count, byte[] out, int outFrom) {
    ReedSolomon.checkK(k);
    if (count < 0 || count > p.length) {
      throw new IllegalArgumentException("parity indices for " + count + " symbols are missing");
    }
    ReedSolomon.checkBlock(k, size, source, from, p, count, out, outFrom);
    if (srcAt.length < k) {
      srcAt = new int[k];
    }
    for (int j = 0; j < k; j++) {
      srcAt[j] = from + j * size;
    }
    if (natives != null && count > 0) {
      boolean same = coefficients(k, p, count);
      if (outAt.length < count) {
        outAt = new int[count];
      }
      for (int q = 0; q < count; q++) {
        outAt[q] = outFrom + q * size;
      }
      natives.products(nativeCoef, count, k, source, srcAt, out, outAt, size, false, same);
      return;
    }
    if (outAt.length < ROWS) {
      outAt = new int[ROWS];
    }
    for (int first = 0; first < count; first += ROWS) {
      int rows = Math.min(ROWS, count - first);
      for (int q = 0; q < rows; q++) {
        outAt[q] = outFrom + (first + q) * size;
      }
      long[] t = slab(k, p, first, rows).table;
      products(t, k, source, srcAt, size);
      spread(rows, out, outAt, size, false);
    }
  }

  /**
   * For the decoder: adds to each of the {@code rows} symbols at {@code at[q]} in {@code data} the
   * products of the {@code n} symbols at {@code srcAt} with coefficient(p[q], j[i]), p and the
   * source indices j being the block's; tables built for this one call.
   */
  void mulAdd(int[] p, int rows, int[] j, int n, byte[] data, int[] srcAt, int[] at, int size) {
    if (natives != null) {
      if (n == 0) {
        return; // no known source: nothing to take out
      }
      if (nativeCoef.length < rows * n) {
        nativeCoef = new byte[rows * n];
      }
      for (int q = 0; q < rows; q++) {
        for (int i = 0; i < n; i++) {
          nativeCoef[q * n + i] = (byte) ReedSolomon.coefficient(p[q], j[i]);
        }
      }
      coefFor = null; // the encoder's kept coefficients are gone
      natives.products(nativeCoef, rows, n, data, srcAt, data, at, size, true, false);
      return;
    }
    if (outAt.length < ROWS) {
      outAt = new int[ROWS];
    }
    if (scratch.length < n << 8) {
      scratch = new long[Math.max(n, 128) << 8];
    }
    for (int first = 0; first < rows; first += ROWS) {
      int r = Math.min(ROWS, rows - first);
      for (int q = 0; q < r; q++) {
        outAt[q] = at[first + q];
      }
      build(scratch, p, first, r, j, n);
      products(scratch, n, data, srcAt, size);
      spread(r, data, outAt, size, true);
    }
  }

  /** acc[i] = XOR over sources s of t[s][source byte i of s]: up to 8 rows' products at once. */
  private void products(long[] t, int n, byte[] source, int[] srcAt, int size) {
    if (acc.length < size) {
      acc = new long[size];
    }
    long[] a = acc;
    Arrays.fill(a, 0, size, 0L);
    for (int j = 0; j < n; j++) {
      int base = j << 8;
      int s = srcAt[j];
      int i = 0;
      for (; i + 8 <= size; i += 8) {
        long v = (long) LONGS.get(source, s + i);
        a[i] ^= t[base | ((int) v & 0xff)];
        a[i + 1] ^= t[base | ((int) (v >>> 8) & 0xff)];
        a[i + 2] ^= t[base | ((int) (v >>> 16) & 0xff)];
        a[i + 3] ^= t[base | ((int) (v >>> 24) & 0xff)];
        a[i + 4] ^= t[base | ((int) (v >>> 32) & 0xff)];
        a[i + 5] ^= t[base | ((int) (v >>> 40) & 0xff)];
        a[i + 6] ^= t[base | ((int) (v >>> 48) & 0xff)];
        a[i + 7] ^= t[base | (int) (v >>> 56)];
      }
      for (; i < size; i++) {
        a[i] ^= t[base | (source[s + i] & 0xff)];
      }
    }
  }

  /** Row q is byte q of every accumulator entry: written to (or XORed into) out at at[q]. */
  private void spread(int rows, byte[] out, int[] at, int size, boolean xor) {
    long[] a = acc;
    for (int q = 0; q < rows; q++) {
      int o = at[q];
      int shift = 8 * q;
      int i = 0;
      for (; i + 8 <= size; i += 8) {
        long w =
            (a[i] >>> shift & 0xffL)
                | (a[i + 1] >>> shift & 0xffL) << 8
                | (a[i + 2] >>> shift & 0xffL) << 16
                | (a[i + 3] >>> shift & 0xffL) << 24
                | (a[i + 4] >>> shift & 0xffL) << 32
                | (a[i + 5] >>> shift & 0xffL) << 40
                | (a[i + 6] >>> shift & 0xffL) << 48
                | (a[i + 7] >>> shift & 0xffL) << 56;
        LONGS.set(out, o + i, xor ? (long) LONGS.get(out, o + i) ^ w : w);
      }
      for (; i < size; i++) {
        byte b = (byte) (a[i] >>> shift);
        out[o + i] = xor ? (byte) (out[o + i] ^ b) : b;
      }
    }
  }

  /** The tables for rows p[first..first+rows) of blocks of k, kept or built. */
  private Slab slab(int k, int[] p, int first, int rows) {
    for (Slab s : kept) {
      if (s != null && s.serves(k, p, first, rows)) {
        return s;
      }
    }
    long[] table = new long[k << 8];
    if (all.length < k) {
      all = new int[k];
      for (int j = 0; j < k; j++) {
        all[j] = j;
      }
    }
    build(table, p, first, rows, all, k);
    Slab s = new Slab(k, Arrays.copyOfRange(p, first, first + rows), table);
    kept[next] = s;
    next = (next + 1) % KEPT;
    return s;
  }

  /**
   * t[(i << 8) | b] holds, in byte q, coefficient(p[first + q], j[i]) × b, for i below n and q
   * below rows.
   */
  private static void build(long[] t, int[] p, int first, int rows, int[] j, int n) {
    Arrays.fill(t, 0, n << 8, 0L);
    byte[] mul = Gf256.MUL;
    for (int q = 0; q < rows; q++) {
      int shift = 8 * q;
      for (int i = 0; i < n; i++) {
        int row = ReedSolomon.coefficient(p[first + q], j[i]) << 8;
        int base = i << 8;
        for (int b = 0; b < 256; b++) {
          t[base | b] |= (mul[row | b] & 0xffL) << shift;
        }
      }
    }
  }
}
