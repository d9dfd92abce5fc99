package dev.imprint.engine.fec;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The code's one heavy step, rows of GF(2^8) products summed over many symbols (a block's parity
 * from its sources, and the decoder's two passes), through Intel's ISA-L ({@code libisal.so.2},
 * Debian's {@code libisal2}) when it is there: its kernels use the CPU's vector and GF instructions
 * (AVX2, AVX-512, GFNI) and run several times faster than the table lookups Java can do. The code
 * itself (the field, the Cauchy coefficients, which symbols to combine) stays Imprint's: ISA-L is
 * handed the coefficients and computes the sums, in the same field (0x11D), so the bytes are the
 * same either way (ParityEncoderTest and ReedSolomonTest run both kernels; a self-test runs at
 * load). Without the library, or with {@code -Dimprint.fec.native=false}, the Java kernels run.
 *
 * <p>The symbols live in Java arrays: each call copies its inputs into native memory and its
 * outputs back (a memcpy each, small beside the products). One instance per thread; nothing
 * allocated per call once its buffers have grown.
 */
final class NativeProducts {
  private static final Logger log = LoggerFactory.getLogger(NativeProducts.class);

  /** Whether ISA-L is loaded and passed its self-test. */
  static final boolean AVAILABLE = load();

  static native void ec_init_tables(int k, int rows, byte[] a, Pointer gftbls);

  static native void ec_encode_data(
      int len, int k, int rows, Pointer gftbls, Pointer data, Pointer coding);

  private Memory symbols;
  private Memory pointers;
  private Memory tables;
  private int capacity;
  private int tablesFor = -1;
  private int laidOut = -1;

  private static boolean load() {
    if (!Boolean.parseBoolean(System.getProperty("imprint.fec.native", "true"))) {
      return false;
    }
    try {
      Native.register(NativeProducts.class, NativeLibrary.getInstance("libisal.so.2"));
      if (selfTest()) {
        return true;
      }
      log.warn("FEC: libisal.so.2 computed a wrong product; using the Java kernels");
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      log.debug("FEC: ISA-L not available ({}); using the Java kernels", e.getMessage());
    }
    return false;
  }

  /** Three rows over five symbols of odd length, against the Java field's own products. */
  private static boolean selfTest() {
    int n = 5;
    int rows = 3;
    int size = 37;
    byte[] src = new byte[n * size];
    for (int i = 0; i < src.length; i++) {
      src[i] = (byte) (i * 31 + 7);
    }
    byte[] coef = new byte[rows * n];
    for (int i = 0; i < coef.length; i++) {
      coef[i] = (byte) (i * 53 + 1);
    }
    int[] srcAt = new int[n];
    for (int j = 0; j < n; j++) {
      srcAt[j] = j * size;
    }
    int[] dstAt = {0, size, 2 * size};
    byte[] got = new byte[rows * size];
    new NativeProducts().products(coef, rows, n, src, srcAt, got, dstAt, size, false, false);
    for (int q = 0; q < rows; q++) {
      for (int i = 0; i < size; i++) {
        int want = 0;
        for (int j = 0; j < n; j++) {
          want ^= Gf256.mul(coef[q * n + j] & 0xff, src[j * size + i] & 0xff);
        }
        if ((got[q * size + i] & 0xff) != want) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * For each q < rows: the {@code size} bytes at {@code dstAt[q]} in {@code dst} become (or, with
   * {@code xor}, are XORed with) the sum over i < n of coef[q·n + i] times the symbol at {@code
   * srcAt[i]} in {@code src}. {@code sameCoefficients}: coef is what the previous call had, so its
   * expanded tables are reused (an encoder's, for a whole loop).
   */
  void products(
      byte[] coef,
      int rows,
      int n,
      byte[] src,
      int[] srcAt,
      byte[] dst,
      int[] dstAt,
      int size,
      boolean xor,
      boolean sameCoefficients) {
    grow(n, rows, size);
    Memory m = symbols;
    for (int i = 0; i < n; i++) {
      m.write((long) i * size, src, srcAt[i], size);
    }
    long out = (long) n * size;
    int key = rows * 65536 + n;
    if (!sameCoefficients || tablesFor != key) {
      ec_init_tables(n, rows, coef, tables);
      tablesFor = key;
    }
    ec_encode_data(size, n, rows, tables, pointers, pointers.share((long) n * Native.POINTER_SIZE));
    if (!xor) {
      for (int q = 0; q < rows; q++) {
        m.read(out + (long) q * size, dst, dstAt[q], size);
      }
      return;
    }
    byte[] row = rowBuffer(size);
    for (int q = 0; q < rows; q++) {
      m.read(out + (long) q * size, row, 0, size);
      int d = dstAt[q];
      for (int i = 0; i < size; i++) {
        dst[d + i] ^= row[i];
      }
    }
  }

  private byte[] row = new byte[0];

  private byte[] rowBuffer(int size) {
    if (row.length < size) {
      row = new byte[size];
    }
    return row;
  }

  /** Buffers for n + rows symbols of size, and the pointer arrays ISA-L takes, laid out once. */
  private void grow(int n, int rows, int size) {
    int need = n + rows;
    if (symbols == null || capacity < need || symbols.size() < (long) need * size) {
      int cap = Math.max(need, capacity);
      symbols = new Memory((long) cap * Math.max(size, 1));
      pointers = new Memory((long) cap * Native.POINTER_SIZE);
      capacity = cap;
      laidOut = -1;
    }
    if (laidOut != size) {
      // Symbol i at i·size: the same pointers serve any split of the slots into inputs
      // (the first n) and outputs (the next rows).
      for (int i = 0; i < capacity; i++) {
        pointers.setPointer((long) i * Native.POINTER_SIZE, symbols.share((long) i * size));
      }
      laidOut = size;
    }
    long tableBytes = 32L * n * rows;
    if (tables == null || tables.size() < tableBytes) {
      tables = new Memory(Math.max(tableBytes, 32L * 128 * 16));
      tablesFor = -1;
    }
  }
}
