package dev.imprint.engine.codec;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ProbeTest {
  private static final int CS = 4 << 20;

  private static ByteBuffer direct(byte[] b) {
    return ByteBuffer.allocateDirect(b.length).put(b).flip();
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void randomChunkIsIncompressibleAndNotMoved() {
    ByteBuffer b = direct(random(CS, 1));
    b.position(4096);
    assertTrue(Probe.incompressible(b));
    assertTrue(b.position() == 4096 && b.limit() == CS);
  }

  @Test
  void compressibleDataIsCompressed() {
    assertFalse(Probe.incompressible(ByteBuffer.allocateDirect(CS)));
    byte[] text = "a line of text, a line of text again\n".repeat(CS / 37 + 1).getBytes();
    assertFalse(Probe.incompressible(direct(java.util.Arrays.copyOf(text, CS))));
    // High entropy but not random (base64): zstd's entropy coding still gains ~25%.
    byte[] b64 = Base64.getEncoder().encode(random(CS, 2));
    assertFalse(
        Probe.incompressible(direct(new String(b64, 0, CS, StandardCharsets.US_ASCII).getBytes())));
  }

  @Test
  void oneCompressibleQuarterIsEnough() {
    byte[] b = random(CS, 3);
    java.util.Arrays.fill(b, 3 * CS / 4, CS, (byte) 0);
    assertFalse(Probe.incompressible(direct(b)));
  }

  @Test
  void smallOrHeapChunksAreLeftToTheCompressor() {
    assertFalse(Probe.incompressible(direct(random(64 << 10, 4))));
    assertFalse(Probe.incompressible(ByteBuffer.wrap(random(CS, 5))));
  }
}
