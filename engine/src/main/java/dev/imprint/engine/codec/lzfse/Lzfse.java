package dev.imprint.engine.codec.lzfse;

import dev.imprint.engine.codec.CodecException;

/**
 * Decoder for LZFSE streams (Apple's open-source LZ77 + Finite State Entropy coder; UDIF chunk type
 * 0x80000007). A stream is a sequence of blocks, each opening with a little-endian magic:
 *
 * <ul>
 *   <li>{@code bvx-}: n_raw_bytes (u32), then that many bytes stored as they are;
 *   <li>{@code bvxn}: n_raw_bytes, n_payload_bytes (u32 each), then an LZVN payload ({@link Lzvn});
 *   <li>{@code bvx1}: an LZFSE block with its header fields and frequency tables stored plainly
 *       (772 bytes);
 *   <li>{@code bvx2}: the same block with the fields packed into three u64 and the frequency tables
 *       coded with a small prefix code;
 *   <li>{@code bvx$}: the end of the stream.
 * </ul>
 *
 * An LZFSE block holds n_literals literal bytes, FSE-coded with four interleaved states, followed
 * by n_matches (L, M, D) triples, FSE-coded with one state each: copy L literals, then M bytes from
 * D bytes back (D = 0 repeats the previous distance). Matches may reach into earlier blocks.
 *
 * <p>Instances keep scratch tables between calls and are not thread-safe; use one per thread or one
 * per call.
 */
public final class Lzfse {
  private static final int MAGIC_END = 0x24787662;
  private static final int MAGIC_RAW = 0x2d787662;
  private static final int MAGIC_V1 = 0x31787662;
  private static final int MAGIC_V2 = 0x32787662;
  private static final int MAGIC_LZVN = 0x6e787662;

  private static final int V1_HEADER_SIZE = 772;
  private static final int V2_FIXED_SIZE = 32;
  private static final int MATCHES_PER_BLOCK = 10_000;
  private static final int LITERALS_PER_BLOCK = 4 * MATCHES_PER_BLOCK;

  private static final int L_STATES = 64;
  private static final int M_STATES = 64;
  private static final int D_STATES = 256;
  private static final int LITERAL_STATES = 1024;
  private static final int L_SYMBOLS = 20;
  private static final int M_SYMBOLS = 20;
  private static final int D_SYMBOLS = 64;
  private static final int LITERAL_SYMBOLS = 256;

  private static final byte[] L_EXTRA = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 5, 8
  };
  private static final int[] L_BASE = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 28, 60
  };
  private static final byte[] M_EXTRA = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 8, 11
  };
  private static final int[] M_BASE = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 56, 312
  };
  // Distance classes: four per extra-bit count 0..15, each class's base following the last.
  private static final byte[] D_EXTRA = new byte[D_SYMBOLS];
  private static final int[] D_BASE = new int[D_SYMBOLS];

  static {
    int base = 0;
    for (int i = 0; i < D_SYMBOLS; i++) {
      D_EXTRA[i] = (byte) (i >> 2);
      D_BASE[i] = base;
      base += 1 << (i >> 2);
    }
  }

  private final int[] lFreq = new int[L_SYMBOLS];
  private final int[] mFreq = new int[M_SYMBOLS];
  private final int[] dFreq = new int[D_SYMBOLS];
  private final int[] litFreq = new int[LITERAL_SYMBOLS];
  private final int[] litTable = new int[LITERAL_STATES];
  private final int[] lTable = new int[L_STATES];
  private final int[] lBases = new int[L_STATES];
  private final int[] mTable = new int[M_STATES];
  private final int[] mBases = new int[M_STATES];
  private final int[] dTable = new int[D_STATES];
  private final int[] dBases = new int[D_STATES];
  private final byte[] literals = new byte[LITERALS_PER_BLOCK + 4];
  private final int[] litState = new int[4];
  private final int[] states = new int[3];

  /** Decodes one whole stream with a decoder of its own. */
  public static int decodeStream(
      byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen)
      throws CodecException {
    return new Lzfse().decode(src, srcOff, srcLen, dst, dstOff, dstLen);
  }

  /**
   * Decodes the stream in {@code src[srcOff, srcOff + srcLen)} into {@code dst} from {@code
   * dstOff}, writing at most {@code dstLen} bytes. The stream must end with its end-of-stream block
   * within the input.
   *
   * @return bytes written
   * @throws CodecException a malformed block, a truncated stream, or more output than {@code
   *     dstLen}
   */
  public int decode(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen)
      throws CodecException {
    int s = srcOff;
    int sEnd = srcOff + srcLen;
    int d = dstOff;
    int dEnd = dstOff + dstLen;
    while (true) {
      if (sEnd - s < 4) {
        throw new CodecException("LZFSE stream ends without its end-of-stream block");
      }
      int magic = le32(src, s);
      switch (magic) {
        case MAGIC_END -> {
          return d - dstOff;
        }
        case MAGIC_RAW -> {
          need(s, 8, sEnd, "uncompressed block header");
          int n = le32(src, s + 4);
          s += 8;
          if (n < 0 || n > sEnd - s) {
            throw new CodecException(
                "LZFSE uncompressed block of " + n + " bytes passes the input end");
          }
          checkRoom(n, d, dEnd, dstLen);
          System.arraycopy(src, s, dst, d, n);
          s += n;
          d += n;
        }
        case MAGIC_LZVN -> {
          need(s, 12, sEnd, "LZVN block header");
          int raw = le32(src, s + 4);
          int payload = le32(src, s + 8);
          s += 12;
          if (payload < 0 || payload > sEnd - s) {
            throw new CodecException(
                "LZVN block payload of " + payload + " bytes passes the input end");
          }
          checkRoom(raw, d, dEnd, dstLen);
          Lzvn.decode(src, s, s + payload, dst, dstOff, d, d + raw);
          s += payload;
          d += raw;
        }
        case MAGIC_V1, MAGIC_V2 -> {
          int consumed = lzfseBlock(src, srcOff, s, sEnd, dst, dstOff, d, dEnd, dstLen, magic);
          d += rawBytes;
          s += consumed;
        }
        default ->
            throw new CodecException(
                String.format(
                    "LZFSE block magic 0x%08x is not one of bvx-, bvxn, bvx1, bvx2, bvx$", magic));
      }
    }
  }

  // Set by lzfseBlock: the block's decoded size.
  private int rawBytes;

  private int lzfseBlock(
      byte[] src,
      int srcBegin,
      int s,
      int sEnd,
      byte[] dst,
      int dstBegin,
      int d,
      int dEnd,
      int dstLen,
      int magic)
      throws CodecException {
    int nRaw;
    int nLiterals;
    int nMatches;
    int nLiteralPayload;
    int nLmdPayload;
    int literalBits;
    int lmdBits;
    int[] litState = this.litState;
    int lState;
    int mState;
    int dState;
    int headerSize;
    if (magic == MAGIC_V1) {
      need(s, V1_HEADER_SIZE, sEnd, "LZFSE v1 block header");
      nRaw = le32(src, s + 4);
      nLiterals = le32(src, s + 12);
      nMatches = le32(src, s + 16);
      nLiteralPayload = le32(src, s + 20);
      nLmdPayload = le32(src, s + 24);
      literalBits = le32(src, s + 28);
      for (int i = 0; i < 4; i++) {
        litState[i] = le16(src, s + 32 + 2 * i);
      }
      lmdBits = le32(src, s + 40);
      lState = le16(src, s + 44);
      mState = le16(src, s + 46);
      dState = le16(src, s + 48);
      int at = s + 50;
      for (int[] freq : new int[][] {lFreq, mFreq, dFreq, litFreq}) {
        for (int i = 0; i < freq.length; i++, at += 2) {
          freq[i] = le16(src, at);
        }
      }
      headerSize = V1_HEADER_SIZE;
    } else {
      need(s, V2_FIXED_SIZE, sEnd, "LZFSE v2 block header");
      nRaw = le32(src, s + 4);
      long f0 = le64(src, s + 8);
      long f1 = le64(src, s + 16);
      long f2 = le64(src, s + 24);
      nLiterals = field(f0, 0, 20);
      nLiteralPayload = field(f0, 20, 20);
      nMatches = field(f0, 40, 20);
      literalBits = field(f0, 60, 3) - 7;
      for (int i = 0; i < 4; i++) {
        litState[i] = field(f1, 10 * i, 10);
      }
      nLmdPayload = field(f1, 40, 20);
      lmdBits = field(f1, 60, 3) - 7;
      headerSize = (int) f2;
      lState = field(f2, 32, 10);
      mState = field(f2, 42, 10);
      dState = field(f2, 52, 10);
      if (headerSize < V2_FIXED_SIZE || headerSize > sEnd - s) {
        throw new CodecException(
            "LZFSE v2 block header size "
                + Integer.toUnsignedString(headerSize)
                + " is out of range");
      }
      readPackedFrequencies(src, s + V2_FIXED_SIZE, s + headerSize);
    }
    if (nLiterals < 0
        || nLiterals > LITERALS_PER_BLOCK
        || nMatches < 0
        || nMatches > MATCHES_PER_BLOCK
        || litState[0] >= LITERAL_STATES
        || litState[1] >= LITERAL_STATES
        || litState[2] >= LITERAL_STATES
        || litState[3] >= LITERAL_STATES
        || lState >= L_STATES
        || mState >= M_STATES
        || dState >= D_STATES
        || !Fse.fits(lFreq, L_STATES)
        || !Fse.fits(mFreq, M_STATES)
        || !Fse.fits(dFreq, D_STATES)
        || !Fse.fits(litFreq, LITERAL_STATES)) {
      throw new CodecException("LZFSE block header has counts, states or frequencies out of range");
    }
    if (nLiteralPayload < 0
        || nLmdPayload < 0
        || (long) headerSize + nLiteralPayload + nLmdPayload > sEnd - s) {
      throw new CodecException("LZFSE block payload passes the input end");
    }
    checkRoom(nRaw, d, dEnd, dstLen);

    Fse.symbolTable(LITERAL_STATES, litFreq, litTable);
    Fse.valueTable(L_STATES, lFreq, L_EXTRA, L_BASE, lTable, lBases);
    Fse.valueTable(M_STATES, mFreq, M_EXTRA, M_BASE, mTable, mBases);
    Fse.valueTable(D_STATES, dFreq, D_EXTRA, D_BASE, dTable, dBases);

    // Literals: four interleaved states over one backward stream that may refill from anywhere
    // after the stream's start (the encoder's eager refills can reach into the block header).
    int litEnd = s + headerSize + nLiteralPayload;
    Fse.BackwardBits in = new Fse.BackwardBits(src, srcBegin, litEnd, literalBits);
    int s0 = litState[0];
    int s1 = litState[1];
    int s2 = litState[2];
    int s3 = litState[3];
    int[] lt = litTable;
    byte[] lits = literals;
    for (int i = 0; i < nLiterals; i += 4) {
      in.refill();
      int e = lt[s0];
      lits[i] = (byte) e;
      s0 = (e >>> 16) + in.pull((e >>> 8) & 0xff);
      e = lt[s1];
      lits[i + 1] = (byte) e;
      s1 = (e >>> 16) + in.pull((e >>> 8) & 0xff);
      e = lt[s2];
      lits[i + 2] = (byte) e;
      s2 = (e >>> 16) + in.pull((e >>> 8) & 0xff);
      e = lt[s3];
      lits[i + 3] = (byte) e;
      s3 = (e >>> 16) + in.pull((e >>> 8) & 0xff);
    }

    // L, M, D triples, each from its own state over a second backward stream.
    Fse.BackwardBits lmd = new Fse.BackwardBits(src, litEnd, litEnd + nLmdPayload, lmdBits);
    int blockEnd = d + nRaw;
    int lit = 0;
    int dist = -1;
    states[0] = lState;
    states[1] = mState;
    states[2] = dState;
    for (int n = 0; n < nMatches; n++) {
      lmd.refill();
      int l = value(lTable, lBases, 0, lmd);
      int m = value(mTable, mBases, 1, lmd);
      int newDist = value(dTable, dBases, 2, lmd);
      if (newDist != 0) {
        dist = newDist;
      }
      if (l > nLiterals - lit) {
        throw new CodecException("LZFSE block uses more literals than it holds");
      }
      if ((long) l + m > blockEnd - d) {
        throw new CodecException("LZFSE block decodes to more bytes than it declares");
      }
      Lzvn.copy(lits, lit, dst, d, l);
      lit += l;
      d += l;
      if (m > 0) {
        if (dist <= 0 || dist > d - dstBegin) {
          throw new CodecException("LZFSE match distance " + dist + " reaches before the output");
        }
        Lzvn.copyMatch(dst, d, dist, m);
        d += m;
      }
    }
    if (d != blockEnd) {
      throw new CodecException(
          "LZFSE block decodes to " + (blockEnd - d) + " bytes fewer than it declares");
    }
    rawBytes = nRaw;
    return headerSize + nLiteralPayload + nLmdPayload;
  }

  /** One value from an L, M or D table: state bits, then the class's extra bits. */
  private int value(int[] table, int[] bases, int which, Fse.BackwardBits in)
      throws CodecException {
    int state = states[which];
    int e = table[state];
    int bits = in.pull(e & 0xff);
    int extra = (e >>> 8) & 0xff;
    states[which] = (e >>> 16) + (bits >>> extra);
    return bases[state] + (bits & ((1 << extra) - 1));
  }

  /**
   * The v2 header's frequency tables (L, M, D, then literals: 360 values) as a little-endian bit
   * stream of prefix codes, read from the low bits: {@code 00} is 0, {@code 10} is 1, {@code 001}
   * 2, {@code 101} 3, {@code 00011}–{@code 11011} 4–7 (bits 3–4 give the value − 4), {@code
   * xxxx0111} 8–23 (the four bits above give the value − 8), and a 14-bit code ending {@code 1111}
   * for 24–1047 (the ten bits above give the value − 24). The codes must end exactly at the
   * header's end, with fewer than 8 bits left over. No table bytes at all means every frequency is
   * 0.
   */
  private void readPackedFrequencies(byte[] src, int at, int end) throws CodecException {
    java.util.Arrays.fill(lFreq, 0);
    java.util.Arrays.fill(mFreq, 0);
    java.util.Arrays.fill(dFreq, 0);
    java.util.Arrays.fill(litFreq, 0);
    if (at == end) {
      return;
    }
    long accum = 0;
    int count = 0;
    for (int[] freq : new int[][] {lFreq, mFreq, dFreq, litFreq}) {
      for (int i = 0; i < freq.length; i++) {
        while (at < end && count + 8 <= 32) {
          accum |= (src[at++] & 0xffL) << count;
          count += 8;
        }
        int bits = (int) accum;
        int len;
        int v;
        if ((bits & 1) == 0) {
          len = 2;
          v = (bits >>> 1) & 1;
        } else if ((bits & 2) == 0) {
          len = 3;
          v = 2 + ((bits >>> 2) & 1);
        } else if ((bits & 4) == 0) {
          len = 5;
          v = 4 + ((bits >>> 3) & 3);
        } else if ((bits & 8) == 0) {
          len = 8;
          v = 8 + ((bits >>> 4) & 0xf);
        } else {
          len = 14;
          v = 24 + ((bits >>> 4) & 0x3ff);
        }
        if (len > count) {
          throw new CodecException("LZFSE v2 frequency tables run past the block header");
        }
        freq[i] = v;
        accum >>>= len;
        count -= len;
      }
    }
    if (count >= 8 || at != end) {
      throw new CodecException("LZFSE v2 frequency tables do not end at the header's end");
    }
  }

  private static int field(long v, int offset, int bits) {
    return (int) ((v >>> offset) & ((1L << bits) - 1));
  }

  private static void need(int s, int n, int sEnd, String what) throws CodecException {
    if (n > sEnd - s) {
      throw new CodecException("LZFSE stream ends inside its " + what);
    }
  }

  private static void checkRoom(int n, int d, int dEnd, int dstLen) throws CodecException {
    if (n < 0 || n > dEnd - d) {
      throw new CodecException(
          "LZFSE stream decodes to more than the " + dstLen + " bytes expected");
    }
  }

  static int le16(byte[] b, int at) {
    return (b[at] & 0xff) | ((b[at + 1] & 0xff) << 8);
  }

  static int le32(byte[] b, int at) {
    return le16(b, at) | (le16(b, at + 2) << 16);
  }

  static long le64(byte[] b, int at) {
    return (le32(b, at) & 0xffffffffL) | ((long) le32(b, at + 4) << 32);
  }
}
