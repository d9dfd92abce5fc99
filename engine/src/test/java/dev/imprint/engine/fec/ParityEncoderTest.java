package dev.imprint.engine.fec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imprint.engine.testing.Root;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The table encoder's parity equals the one-symbol-at-a-time definition, byte for byte. */
class ParityEncoderTest {
  /** With ISA-L's kernels (where libisal2 is installed: CI installs it) and with Java's. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void equalsTheDefinitionForEveryShape(boolean nativeKernels) {
    if (nativeKernels) {
      Root.assume(NativeProducts.AVAILABLE, "needs libisal.so.2 (Debian: libisal2)");
    }
    Random rnd = new Random(21);
    ParityEncoder enc = new ParityEncoder(nativeKernels);
    assertEquals(nativeKernels, enc.isNative());
    // k and k + 1 alternate and the parity indices change as a stream's do (parity raised, the
    // rotation of the next loop), so kept tables are reused and replaced; sizes not a multiple of
    // 8.
    int[][] shapes = {
      {100, 10, 1416}, {101, 10, 1416}, {100, 12, 1416}, {100, 2, 1416}, {1, 3, 8}, {7, 0, 64},
      {200, 20, 1400}, {50, 5, 13}, {100, 17, 1416}, {255 - 8, 8, 24}, {3, 9, 1}, {100, 10, 1416}
    };
    for (int round = 0; round < shapes.length; round++) {
      int k = shapes[round][0];
      int r = shapes[round][1];
      int size = shapes[round][2];
      int offset = rnd.nextInt(5);
      byte[] src = new byte[offset + k * size];
      rnd.nextBytes(src);
      int rotation = round % 3;
      int[] p = new int[r];
      for (int i = 0; i < r; i++) {
        p[i] = k + (rotation + i) % (256 - k);
      }
      byte[] out = new byte[3 + r * size + 2];
      Arrays.fill(out, (byte) 0x5a); // around the rows: must stay as it is
      enc.encode(k, size, src, offset, p, r, out, 3);
      byte[] one = new byte[size];
      for (int q = 0; q < r; q++) {
        ReedSolomon.encode(k, size, src, offset, p[q], one, 0);
        assertArrayEquals(
            one,
            Arrays.copyOfRange(out, 3 + q * size, 3 + (q + 1) * size),
            "k=" + k + " r=" + r + " size=" + size + " row " + q);
      }
      assertEquals(0x5a, out[0] & 0xff);
      assertEquals(0x5a, out[out.length - 1] & 0xff);
    }
  }

  @Test
  void refusesWhatTheCodeCannotCarry() {
    ParityEncoder enc = new ParityEncoder();
    byte[] src = new byte[40];
    byte[] out = new byte[40];
    assertThrows(
        IllegalArgumentException.class, () -> enc.encode(4, 10, src, 0, new int[] {3}, 1, out, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> enc.encode(4, 10, src, 0, new int[] {256}, 1, out, 0));
    assertThrows(
        IllegalArgumentException.class, () -> enc.encode(5, 10, src, 0, new int[] {9}, 1, out, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> enc.encode(4, 10, src, 0, new int[] {4, 5, 6, 7, 8}, 5, out, 0));
  }
}
