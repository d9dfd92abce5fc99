package dev.imprint.engine.codec.adc;

import dev.imprint.engine.codec.CodecException;

/**
 * Apple Data Compression, the LZ77 variant of old Apple disk images (UDIF chunk type 0x80000004).
 * Each opcode byte starts either a literal run or a back-reference into the output decoded so far:
 *
 * <ul>
 *   <li>{@code 1LLLLLLL}: the next L+1 bytes are literals (1–128);
 *   <li>{@code 01LLLLLL DDDDDDDD DDDDDDDD}: copy L+4 bytes (4–67) from D+1 bytes back (D big
 *       endian, up to 65536);
 *   <li>{@code 00LLLLDD DDDDDDDD}: copy L+3 bytes (3–18) from D+1 bytes back (up to 1024).
 * </ul>
 *
 * The stream has no header, end marker or checksum: it ends where its input ends.
 */
public final class Adc {
  private Adc() {}

  /**
   * Decodes {@code src[srcOff, srcOff + srcLen)} into {@code dst} from {@code dstOff}, writing at
   * most {@code dstLen} bytes.
   *
   * @return bytes written
   * @throws CodecException the input is cut inside an opcode, refers before the start of the
   *     output, or decodes to more than {@code dstLen} bytes
   */
  public static int decode(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen)
      throws CodecException {
    int s = srcOff;
    int sEnd = srcOff + srcLen;
    int d = dstOff;
    int dEnd = dstOff + dstLen;
    while (s < sEnd) {
      int op = src[s] & 0xff;
      if (op >= 0x80) {
        int n = (op & 0x7f) + 1;
        if (n > sEnd - s - 1) {
          throw new CodecException("ADC literal run of " + n + " bytes passes the input end");
        }
        if (n > dEnd - d) {
          throw overrun(dstLen);
        }
        System.arraycopy(src, s + 1, dst, d, n);
        s += 1 + n;
        d += n;
        continue;
      }
      int n;
      int dist;
      if (op >= 0x40) {
        if (sEnd - s < 3) {
          throw new CodecException("ADC input ends inside a 3-byte copy");
        }
        n = (op & 0x3f) + 4;
        dist = (((src[s + 1] & 0xff) << 8) | (src[s + 2] & 0xff)) + 1;
        s += 3;
      } else {
        if (sEnd - s < 2) {
          throw new CodecException("ADC input ends inside a 2-byte copy");
        }
        n = ((op >> 2) & 0x0f) + 3;
        dist = (((op & 0x03) << 8) | (src[s + 1] & 0xff)) + 1;
        s += 2;
      }
      if (dist > d - dstOff) {
        throw new CodecException(
            "ADC copy from " + dist + " bytes back, before the start of the output");
      }
      if (n > dEnd - d) {
        throw overrun(dstLen);
      }
      if (dist >= n) {
        System.arraycopy(dst, d - dist, dst, d, n);
        d += n;
      } else {
        // Overlapping copy: a run that repeats its own output.
        for (int i = 0; i < n; i++, d++) {
          dst[d] = dst[d - dist];
        }
      }
    }
    return d - dstOff;
  }

  private static CodecException overrun(int dstLen) {
    return new CodecException("ADC data decodes to more than the " + dstLen + " bytes expected");
  }
}
