package dev.imprint.engine.codec.lzfse;

import dev.imprint.engine.codec.CodecException;

/**
 * Finite State Entropy decoding as LZFSE uses it: decoder tables built from a block's symbol
 * frequencies, and the bit stream they read, which is consumed backwards from its last byte.
 */
final class Fse {
  private Fse() {}

  /**
   * Fills {@code table[0, nStates)} for a plain symbol alphabet. Each entry packs the symbol (bits
   * 0–7), the bits to read for the next state (bits 8–15) and the base of the next state (bits
   * 16–31). A symbol of frequency f owns f consecutive states; the first j0 of them read k bits,
   * the rest k−1, so that together they cover every next state once.
   */
  static void symbolTable(int nStates, int[] freq, int[] table) {
    int pos = 0;
    int clzStates = Integer.numberOfLeadingZeros(nStates);
    for (int symbol = 0; symbol < freq.length; symbol++) {
      int f = freq[symbol];
      if (f == 0) {
        continue;
      }
      int k = Integer.numberOfLeadingZeros(f) - clzStates;
      int j0 = ((2 * nStates) >> k) - f;
      for (int j = 0; j < f; j++) {
        int bits;
        int delta;
        if (j < j0) {
          bits = k;
          delta = ((f + j) << k) - nStates;
        } else {
          bits = k - 1;
          delta = (j - j0) << (k - 1);
        }
        table[pos++] = (delta << 16) | (bits << 8) | symbol;
      }
    }
    java.util.Arrays.fill(table, pos, nStates, 0);
  }

  /**
   * Fills {@code table[0, nStates)} for an alphabet of value classes (L, M and D): the symbol is a
   * class with a base value and a number of extra bits read after the state bits. Entries pack the
   * total bits to read (bits 0–7), the extra bits (8–15) and the next-state base (16–31); {@code
   * bases} receives each state's base value.
   */
  static void valueTable(
      int nStates, int[] freq, byte[] extraBits, int[] baseValue, int[] table, int[] bases) {
    // The same spread of states as for symbols; each entry then also reads its class's extra bits.
    symbolTable(nStates, freq, table);
    for (int i = 0; i < nStates; i++) {
      int e = table[i];
      int symbol = e & 0xff;
      int extra = extraBits[symbol];
      table[i] = (e & 0xffff0000) | (extra << 8) | (((e >>> 8) & 0xff) + extra);
      bases[i] = baseValue[symbol];
    }
  }

  /** Whether the frequencies fit the table: their sum may not pass the number of states. */
  static boolean fits(int[] freq, int nStates) {
    int sum = 0;
    for (int f : freq) {
      sum += f;
    }
    return sum <= nStates;
  }

  /**
   * A bit stream read backwards: bytes are taken from the end of the payload towards its start and
   * pushed into the low end of a 64-bit accumulator; bits are pulled from its high end. After each
   * refill the accumulator holds 56 to 63 bits, enough for one literal quadruple (4 × 10 bits) or
   * one L, M, D triple (14 + 17 + 23 bits).
   */
  static final class BackwardBits {
    private final byte[] src;
    private final int start;
    private int pos;
    private long accum;
    private int count;

    /**
     * @param end the index after the stream's last byte
     * @param start the lowest index the stream may refill from
     * @param initialBits the stream's first-refill adjustment, −7 to 0: the encoder's padding so
     *     that the final byte is whole
     */
    BackwardBits(byte[] src, int start, int end, int initialBits) throws CodecException {
      this.src = src;
      this.start = start;
      if (initialBits < -7 || initialBits > 0) {
        throw new CodecException("LZFSE bit stream starts with " + initialBits + " bits");
      }
      int n = initialBits != 0 ? 8 : 7;
      if (end - n < start) {
        throw new CodecException("LZFSE bit stream is shorter than its first refill");
      }
      pos = end - n;
      accum = loadLittle(pos, n);
      count = (n == 8 ? 64 : 56) + initialBits;
      if ((accum >>> count) != 0) {
        throw new CodecException("LZFSE bit stream has bits set above its start");
      }
    }

    /** Tops the accumulator up to 56–63 bits with whole bytes. */
    void refill() throws CodecException {
      int add = (63 - count) & ~7;
      if (add == 0) {
        return;
      }
      int bytes = add >> 3;
      if (pos - bytes < start) {
        throw new CodecException("LZFSE bit stream runs past the start of its payload");
      }
      pos -= bytes;
      accum = (accum << add) | loadLittle(pos, bytes);
      count += add;
    }

    /** The next {@code n} bits (n ≤ count). */
    int pull(int n) throws CodecException {
      count -= n;
      if (count < 0) {
        throw new CodecException("LZFSE bit stream ran dry");
      }
      int out = (int) (accum >>> count);
      accum &= (1L << count) - 1;
      return out;
    }

    private long loadLittle(int at, int n) {
      long v = 0;
      for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | (src[at + i] & 0xffL);
      }
      return v;
    }
  }
}
