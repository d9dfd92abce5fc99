package dev.imprint.engine.hash;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Sha256Test {
  @Test
  void knownVectorsFromFips180() {
    assertEquals(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        hex(Sha256.of(direct("abc".getBytes()))));
    assertEquals(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        hex(Sha256.of(direct(new byte[0]))));
  }

  @Test
  void directAndHeapBuffersAgreeAtAnyPositionAndLimit() {
    Random r = new Random(7);
    byte[] data = new byte[(4 << 20) + 123];
    r.nextBytes(data);
    ByteBuffer d = direct(data);
    int[][] windows = {{0, data.length}, {1, 4096}, {4095, data.length - 17}, {100, 101}};
    for (int[] w : windows) {
      ByteBuffer dw = d.duplicate().position(w[0]).limit(w[1]);
      ByteBuffer hw = ByteBuffer.wrap(data).position(w[0]).limit(w[1]);
      byte[] expected = Sha256.jdk(hw);
      assertArrayEquals(expected, Sha256.of(dw), "window " + w[0] + ".." + w[1]);
      assertArrayEquals(expected, Sha256.of(hw), "heap window " + w[0] + ".." + w[1]);
      assertEquals(w[0], dw.position(), "position must not move");
    }
  }

  @Test
  void usesLibcryptoWhereItIsInstalled() {
    boolean installed =
        Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"))
            || Files.exists(Path.of("/usr/lib/aarch64-linux-gnu/libcrypto.so.3"));
    if (installed) {
      assertTrue(Sha256.isNative(), "libcrypto.so.3 is installed but was not loaded");
    }
  }

  private static ByteBuffer direct(byte[] b) {
    ByteBuffer d = ByteBuffer.allocateDirect(b.length);
    d.put(b).flip();
    return d;
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
