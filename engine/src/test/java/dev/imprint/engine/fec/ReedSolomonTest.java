package dev.imprint.engine.fec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Root;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReedSolomonTest {
  @Test
  void fieldTablesAreAField() {
    for (int a = 1; a < 256; a++) {
      assertEquals(1, Gf256.mul(a, Gf256.inv(a)), "a * 1/a for " + a);
      for (int b = 0; b < 256; b += 7) {
        assertEquals(Gf256.mul(a, b), Gf256.mul(b, a));
        // distributive over XOR, against a slow carry-less multiply
        assertEquals(slowMul(a, b), Gf256.mul(a, b));
      }
    }
    assertEquals(0, Gf256.mul(0, 77));
    assertEquals(1, Gf256.pow(2, 255), "2 generates the multiplicative group");
    assertThrows(ArithmeticException.class, () -> Gf256.inv(0));
  }

  private static int slowMul(int a, int b) {
    int p = 0;
    for (int i = 0; i < 8; i++) {
      if ((b & (1 << i)) != 0) {
        p ^= a << i;
      }
    }
    for (int bit = 15; bit >= 8; bit--) {
      if ((p & (1 << bit)) != 0) {
        p ^= Gf256.POLYNOMIAL << (bit - 8);
      }
    }
    return p;
  }

  /** Source symbols then every parity of a block, each {@code size} bytes. */
  private static byte[][] codeword(int k, int n, int size, long seed) {
    Random r = new Random(seed);
    byte[] src = new byte[k * size];
    r.nextBytes(src);
    byte[][] sym = new byte[n][size];
    for (int j = 0; j < k; j++) {
      System.arraycopy(src, j * size, sym[j], 0, size);
    }
    for (int p = k; p < n; p++) {
      ReedSolomon.encode(k, size, src, 0, p, sym[p], 0);
    }
    return sym;
  }

  private static void assertRebuilds(
      byte[][] sym, int k, int size, List<Integer> order, Decoder d) {
    FecBlock b = new FecBlock(k, size);
    for (int i : order) {
      if (b.ready()) {
        assertFalse(b.add(i, ByteBuffer.wrap(sym[i])), "a ready block takes nothing more");
        break;
      }
      assertTrue(b.add(i, ByteBuffer.wrap(sym[i])));
    }
    assertTrue(b.ready(), "k distinct symbols make a block ready");
    d.decode(b);
    assertTrue(b.complete());
    for (int j = 0; j < k; j++) {
      byte[] got = new byte[size];
      System.arraycopy(b.data(), j * size, got, 0, size);
      assertArrayEquals(sym[j], got, "source " + j + " from " + order.subList(0, k));
    }
  }

  /** With ISA-L's kernels (where libisal2 is installed: CI installs it) and with Java's. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void everySubsetOfKOfNRebuilds(boolean nativeKernels) {
    if (nativeKernels) {
      Root.assume(NativeProducts.AVAILABLE, "needs libisal.so.2 (Debian: libisal2)");
    }
    int k = 5;
    int n = 9;
    int size = 13;
    byte[][] sym = codeword(k, n, size, 1);
    Decoder d = new Decoder(nativeKernels);
    int subsets = 0;
    for (int mask = 0; mask < (1 << n); mask++) {
      if (Integer.bitCount(mask) != k) {
        continue;
      }
      List<Integer> order = new ArrayList<>();
      for (int i = n - 1; i >= 0; i--) {
        if ((mask & (1 << i)) != 0) {
          order.add(i); // parity first: it parks in slots its sources then push it out of
        }
      }
      assertRebuilds(sym, k, size, order, d);
      subsets++;
    }
    assertEquals(126, subsets);
  }

  /** With ISA-L's kernels (where libisal2 is installed: CI installs it) and with Java's. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void randomPatternsOnLargeBlocks(boolean nativeKernels) {
    if (nativeKernels) {
      Root.assume(NativeProducts.AVAILABLE, "needs libisal.so.2 (Debian: libisal2)");
    }
    Random r = new Random(7);
    Decoder d = new Decoder(nativeKernels);
    int[][] shapes = {{100, 50}, {128, 40}, {200, 55}, {1, 1}, {1, 255 - 1}, {205, 51}, {255, 1}};
    for (int[] s : shapes) {
      int k = s[0];
      int n = k + s[1];
      int size = 64 + r.nextInt(100);
      byte[][] sym = codeword(k, n, size, k * 31L + n);
      for (int trial = 0; trial < 6; trial++) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          order.add(i);
        }
        Collections.shuffle(order, r);
        assertRebuilds(sym, k, size, order, d);
      }
      // the worst case: every source lost
      List<Integer> parityOnly = new ArrayList<>();
      for (int i = n - 1; i >= k && parityOnly.size() < k; i--) {
        parityOnly.add(i);
      }
      if (parityOnly.size() == k) {
        assertRebuilds(sym, k, size, parityOnly, d);
      }
    }
  }

  @Test
  void manyParityInOnePassEqualsOneAtATime() {
    Random r = new Random(11);
    for (int size : new int[] {1400, 13, 64}) {
      int k = 37;
      byte[][] sym = codeword(k, k + 20, size, size);
      byte[] src = new byte[k * size];
      for (int j = 0; j < k; j++) {
        System.arraycopy(sym[j], 0, src, j * size, size);
      }
      int[] p = {k + 19, k, 200, 255, k + 3};
      byte[] out = new byte[p.length * size + 5];
      r.nextBytes(out); // stale bytes must be overwritten
      ReedSolomon.encode(k, size, src, 0, p, p.length, out, 5, new int[8], new int[8]);
      for (int q = 0; q < p.length; q++) {
        byte[] one = new byte[size];
        ReedSolomon.encode(k, size, src, 0, p[q], one, 0);
        byte[] many = new byte[size];
        System.arraycopy(out, 5 + q * size, many, 0, size);
        assertArrayEquals(one, many, "parity " + p[q] + " of " + size + "-byte symbols");
      }
    }
    assertThrows(
        IllegalArgumentException.class,
        () ->
            ReedSolomon.encode(
                4, 8, new byte[32], 0, new int[] {3}, 1, new byte[8], 0, new int[1], new int[1]));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            ReedSolomon.encode(
                4,
                8,
                new byte[32],
                0,
                new int[] {5, 6},
                2,
                new byte[8],
                0,
                new int[2],
                new int[2]));
  }

  @Test
  void duplicatesCountOnce() {
    byte[][] sym = codeword(4, 8, 8, 3);
    FecBlock b = new FecBlock(4, 8);
    assertTrue(b.add(6, ByteBuffer.wrap(sym[6])));
    assertFalse(b.add(6, ByteBuffer.wrap(sym[6])));
    assertTrue(b.add(1, ByteBuffer.wrap(sym[1])));
    assertEquals(2, b.count());
    assertFalse(b.ready());
    assertArrayEquals(new int[] {0, 2}, b.missingSources(2));
  }

  @Test
  void wrongInputsAreRefused() {
    byte[] src = new byte[40];
    byte[] out = new byte[10];
    assertThrows(
        IllegalArgumentException.class, () -> ReedSolomon.encode(4, 10, src, 0, 3, out, 0));
    assertThrows(
        IllegalArgumentException.class, () -> ReedSolomon.encode(4, 10, src, 0, 256, out, 0));
    assertThrows(
        IllegalArgumentException.class, () -> ReedSolomon.encode(5, 10, src, 0, 9, out, 0));
    assertThrows(
        IllegalArgumentException.class, () -> ReedSolomon.encode(4, 10, src, 0, 9, out, 1));
    assertThrows(IllegalArgumentException.class, () -> new FecBlock(0, 10));
    assertThrows(IllegalArgumentException.class, () -> new FecBlock(256, 10));
    FecBlock b = new FecBlock(4, 10);
    assertThrows(IllegalArgumentException.class, () -> b.add(256, ByteBuffer.allocate(10)));
    assertThrows(IllegalArgumentException.class, () -> b.add(1, ByteBuffer.allocate(9)));
    assertThrows(IllegalArgumentException.class, () -> new Decoder().decode(b));
  }
}
