package dev.imprint.engine.codec.adc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imprint.engine.codec.CodecException;
import org.junit.jupiter.api.Test;

/** ADC's three opcodes by hand; real ADC data is decoded by the UDIF fixture tests. */
class AdcTest {
  @Test
  void literalsShortAndLongCopies() throws Exception {
    byte[] src = {
      (byte) 0x83,
      'a',
      'b',
      'c',
      'd', // 4 literals
      0x04,
      0x03, // 2-byte copy: length (1)+3 = 4 from 3+1 = 4 back: "abcd"
      0x40,
      0x00,
      0x00, // 3-byte copy: length 0+4 = 4 from 0+1 = 1 back: "dddd"
    };
    byte[] dst = new byte[12];
    assertEquals(12, Adc.decode(src, 0, src.length, dst, 0, 12));
    assertArrayEquals("abcdabcddddd".getBytes(), dst);
  }

  @Test
  void badStreamsFail() {
    byte[] dst = new byte[16];
    // literal run longer than the input
    assertThrows(
        CodecException.class, () -> Adc.decode(new byte[] {(byte) 0x85, 1, 2}, 0, 3, dst, 0, 16));
    // copy before the start of the output
    assertThrows(
        CodecException.class,
        () -> Adc.decode(new byte[] {(byte) 0x80, 1, 0x00, 0x05}, 0, 4, dst, 0, 16));
    // cut inside a 3-byte copy
    assertThrows(
        CodecException.class,
        () -> Adc.decode(new byte[] {(byte) 0x80, 1, 0x40, 0}, 0, 4, dst, 0, 16));
    // a bomb: output past the declared size
    byte[] bomb = {(byte) 0x80, 0, 0x7f, 0, 0, 0x7f, 0, 0};
    assertThrows(CodecException.class, () -> Adc.decode(bomb, 0, bomb.length, dst, 0, 16));
  }
}
