package dev.imprint.engine.codec.lzfse;

import dev.imprint.engine.codec.CodecException;

/**
 * LZVN, the byte-oriented LZ77 coder inside LZFSE streams (block type {@code bvxn}). Each opcode
 * byte gives a literal count L (literals follow the opcode's bytes), a match length M and a match
 * distance D (or reuses the previous D):
 *
 * <pre>
 *   sml_d  LLMMMDDD DDDDDDDD                 L 0–3, M 3–10, D 11 bits   (low bits 000–101)
 *   pre_d  LLMMM110                          L 1–3, M 3–10, previous D
 *   lrg_d  LLMMM111 DDDDDDDD DDDDDDDD        L 0–3, M 3–10, D 16 bits little endian
 *   med_d  101LLMMM DDDDDDMM DDDDDDDD        L 0–3, M 3–34, D 14 bits
 *   sml_l  1110LLLL                          L 1–15, no match
 *   lrg_l  11100000 LLLLLLLL                 L 16–271, no match
 *   sml_m  1111MMMM                          M 1–15, previous D, no literals
 *   lrg_m  11110000 MMMMMMMM                 M 16–271, previous D
 *   eos    00000110 + 7 bytes                end of stream
 *   nop    00001110, 00010110
 * </pre>
 *
 * Opcodes 0x1e–0x3e (pre_d with L = 0), 0x70–0x7f and 0xd0–0xdf are undefined. Matches may reach
 * back into the output of earlier blocks of the same LZFSE stream.
 */
final class Lzvn {
  private Lzvn() {}

  /**
   * Decodes {@code src[s, sEnd)} into {@code dst[d, dEnd)}; matches may reach back to {@code
   * dstBegin}. The payload must end with its end-of-stream opcode exactly at sEnd, and fill the
   * output exactly.
   */
  static void decode(byte[] src, int s, int sEnd, byte[] dst, int dstBegin, int d, int dEnd)
      throws CodecException {
    int prevD = 0;
    while (true) {
      if (s >= sEnd) {
        throw new CodecException("LZVN block ends without its end-of-stream opcode");
      }
      int op = src[s] & 0xff;
      int len;
      int lit;
      int match;
      int dist = prevD;
      switch (op >>> 4) {
        case 0x7, 0xd ->
            throw new CodecException(String.format("LZVN opcode 0x%02x is undefined", op));
        case 0xa, 0xb -> {
          len = 3;
          need(s, len, sEnd);
          int b = (src[s + 1] & 0xff) | ((src[s + 2] & 0xff) << 8);
          lit = (op >>> 3) & 3;
          match = (((op & 7) << 2) | (b & 3)) + 3;
          dist = b >>> 2;
        }
        case 0xe -> {
          match = 0;
          if (op == 0xe0) {
            len = 2;
            need(s, len, sEnd);
            lit = (src[s + 1] & 0xff) + 16;
          } else {
            len = 1;
            lit = op & 0x0f;
          }
        }
        case 0xf -> {
          lit = 0;
          if (op == 0xf0) {
            len = 2;
            need(s, len, sEnd);
            match = (src[s + 1] & 0xff) + 16;
          } else {
            len = 1;
            match = op & 0x0f;
          }
        }
        default -> {
          lit = op >>> 6;
          match = ((op >>> 3) & 7) + 3;
          int low = op & 7;
          if (low == 7) {
            len = 3;
            need(s, len, sEnd);
            dist = (src[s + 1] & 0xff) | ((src[s + 2] & 0xff) << 8);
          } else if (low == 6) {
            len = 1;
            if (lit == 0) {
              if (op == 0x06) {
                need(s, 8, sEnd);
                if (s + 8 != sEnd) {
                  throw new CodecException("LZVN end-of-stream opcode before the payload's end");
                }
                if (d != dEnd) {
                  throw new CodecException(
                      "LZVN block decodes to " + (dEnd - d) + " bytes fewer than it declares");
                }
                return;
              }
              if (op == 0x0e || op == 0x16) {
                s++;
                continue;
              }
              throw new CodecException(String.format("LZVN opcode 0x%02x is undefined", op));
            }
          } else {
            len = 2;
            need(s, len, sEnd);
            dist = (low << 8) | (src[s + 1] & 0xff);
          }
        }
      }
      s += len;
      if (lit > 0) {
        if (lit > sEnd - s) {
          throw new CodecException("LZVN literals pass the end of the block");
        }
        if (lit > dEnd - d) {
          throw tooLong();
        }
        copy(src, s, dst, d, lit);
        s += lit;
        d += lit;
      }
      if (match > 0) {
        if (dist <= 0 || dist > d - dstBegin) {
          throw new CodecException("LZVN match distance " + dist + " reaches before the output");
        }
        if (match > dEnd - d) {
          throw tooLong();
        }
        copyMatch(dst, d, dist, match);
        d += match;
        prevD = dist;
      }
    }
  }

  /** Copies {@code n} bytes from {@code dist} bytes back; overlapping copies repeat a pattern. */
  static void copyMatch(byte[] dst, int d, int dist, int n) {
    if (dist >= n && n > SHORT) {
      System.arraycopy(dst, d - dist, dst, d, n);
    } else {
      // Short or overlapping: a plain loop (arraycopy's setup costs more than a few bytes).
      for (int i = 0; i < n; i++) {
        dst[d + i] = dst[d + i - dist];
      }
    }
  }

  /** Copies of at most this many bytes are done by hand. */
  static final int SHORT = 32;

  /** Copies {@code n} non-overlapping bytes; short ones by hand. */
  static void copy(byte[] src, int s, byte[] dst, int d, int n) {
    if (n > SHORT) {
      System.arraycopy(src, s, dst, d, n);
    } else {
      for (int i = 0; i < n; i++) {
        dst[d + i] = src[s + i];
      }
    }
  }

  private static void need(int s, int n, int sEnd) throws CodecException {
    if (n > sEnd - s) {
      throw new CodecException("LZVN block ends inside an opcode");
    }
  }

  private static CodecException tooLong() {
    return new CodecException("LZVN block decodes to more bytes than it declares");
  }
}
