package dev.imprint.engine.codec.lzfse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imprint.engine.codec.CodecException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Streams made by the reference lzfse encoder (lzfse/lzfse, {@code lzfse -encode}) from seeded text
 * and random bytes: an LZVN block (small), several bvx2 blocks (text), incompressible data and a
 * mix of zero runs, far repeats and short periods. Each must decode to the bytes the encoder was
 * given (their SHA-256 recorded when the vectors were made).
 */
class LzfseTest {
  @ParameterizedTest
  @CsvSource({
    "small, 3000, 1e5fb1d1263b502da528e102a2e3b5684a4a134a1955f701300e1e9386523e44",
    "text, 400000, 9d95040ba46ba02f2a91feae40dea62fb3fe60ad6feb332630567ca45207279d",
    "random, 70000, 6eb965f405b531cf3ecaabe762d6d87d2e1215823e4c867b017e5a920e835a34",
    "mixed, 130000, e85f1b2d74d271bb484da91205000c8ee21b0450fb80169eda86ae9426dc7671"
  })
  void decodesReferenceStreams(String name, int size, String sha256) throws Exception {
    byte[] src = vector(name);
    byte[] dst = new byte[size + 100];
    int n = Lzfse.decodeStream(src, 0, src.length, dst, 50, size);
    assertEquals(size, n);
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(dst, 50, size);
    assertEquals(sha256, HexFormat.of().formatHex(md.digest()));
  }

  @ParameterizedTest
  @CsvSource({"small, 3000", "text, 400000", "mixed, 130000"})
  void outputLargerThanDeclaredFails(String name, int size) throws Exception {
    byte[] src = vector(name);
    byte[] dst = new byte[size];
    assertThrows(
        CodecException.class, () -> Lzfse.decodeStream(src, 0, src.length, dst, 0, size - 1));
  }

  @ParameterizedTest
  @CsvSource({"small", "text", "mixed"})
  void everyTruncationFails(String name) throws Exception {
    byte[] src = vector(name);
    byte[] dst = new byte[400_000];
    for (int cut = 0; cut < src.length; cut += Math.max(1, src.length / 300)) {
      int len = cut;
      assertThrows(
          CodecException.class,
          () -> Lzfse.decodeStream(src, 0, len, dst, 0, dst.length),
          "cut at " + cut);
    }
  }

  @ParameterizedTest
  @CsvSource({"small", "text", "mixed"})
  void flippedBytesFailOrStayInBounds(String name) throws Exception {
    byte[] good = vector(name);
    byte[] dst = new byte[400_000];
    SplittableRandom rnd = new SplittableRandom(7);
    for (int i = 0; i < 400; i++) {
      byte[] bad = good.clone();
      bad[rnd.nextInt(bad.length)] ^= (byte) (1 << rnd.nextInt(8));
      try {
        // Any result is fine except an unchecked exception (an index out of bounds, a loop).
        Lzfse.decodeStream(bad, 0, bad.length, dst, 0, dst.length);
      } catch (CodecException expected) {
        // damage found
      }
    }
  }

  @Test
  void uncompressedBlocksAndEmptyStream() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.put("bvx-".getBytes()).putInt(5).put("hello".getBytes());
    b.put("bvx-".getBytes()).putInt(3).put("abc".getBytes());
    b.put("bvx$".getBytes());
    byte[] dst = new byte[8];
    assertEquals(8, Lzfse.decodeStream(b.array(), 0, b.position(), dst, 0, 8));
    assertArrayEquals("helloabc".getBytes(), dst);
    assertEquals(0, Lzfse.decodeStream("bvx$".getBytes(), 0, 4, dst, 0, 8));
    assertThrows(
        CodecException.class,
        () -> Lzfse.decodeStream(b.array(), 0, b.position(), dst, 0, 7),
        "output past the declared size");
    byte[] junk = "bvxZ....".getBytes();
    assertThrows(CodecException.class, () -> Lzfse.decodeStream(junk, 0, 8, dst, 0, 8));
  }

  @Test
  void lzvnOverlappingMatchesAndUndefinedOpcodes() throws Exception {
    // sml_l "ab" (0xe2), then sml_d L=0 M=10 D=2 (0b00_111_000 = 0x38, D low byte 2), eos.
    byte[] ok = lzvn(new byte[] {(byte) 0xe2, 'a', 'b', 0x38, 2, 6, 0, 0, 0, 0, 0, 0, 0}, 12);
    byte[] dst = new byte[12];
    assertEquals(12, Lzfse.decodeStream(ok, 0, ok.length, dst, 0, 12));
    assertArrayEquals("abababababab".getBytes(), dst);
    byte[] undefined = lzvn(new byte[] {(byte) 0x70, 6, 0, 0, 0, 0, 0, 0, 0}, 0);
    assertThrows(
        CodecException.class, () -> Lzfse.decodeStream(undefined, 0, undefined.length, dst, 0, 12));
    // A match reaching before the output's start.
    byte[] far = lzvn(new byte[] {(byte) 0xe2, 'a', 'b', 0x38, 3, 6, 0, 0, 0, 0, 0, 0, 0}, 12);
    assertThrows(CodecException.class, () -> Lzfse.decodeStream(far, 0, far.length, dst, 0, 12));
  }

  /** The same streams with every bvx2 header rewritten as a plain bvx1 header decode the same. */
  @ParameterizedTest
  @CsvSource({
    "text, 400000, 9d95040ba46ba02f2a91feae40dea62fb3fe60ad6feb332630567ca45207279d",
    "mixed, 130000, e85f1b2d74d271bb484da91205000c8ee21b0450fb80169eda86ae9426dc7671"
  })
  void v1HeadersDecodeLikeV2(String name, int size, String sha256) throws Exception {
    byte[] v1 = toV1(vector(name));
    byte[] dst = new byte[size];
    assertEquals(size, Lzfse.decodeStream(v1, 0, v1.length, dst, 0, size));
    assertEquals(
        sha256, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(dst)));
  }

  /** Rewrites each bvx2 block as bvx1 (fields unpacked, frequencies as u16), payloads unchanged. */
  private static byte[] toV1(byte[] v2) {
    ByteBuffer in = ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int at = 0;
    while (true) {
      int magic = in.getInt(at);
      if (magic == 0x24787662) {
        out.write(v2, at, 4);
        return out.toByteArray();
      }
      if (magic != 0x32787662) {
        throw new IllegalStateException("only bvx2 blocks expected");
      }
      long f0 = in.getLong(at + 8);
      long f1 = in.getLong(at + 16);
      long f2 = in.getLong(at + 24);
      int headerSize = (int) f2;
      int[] freq = new int[360];
      long acc = 0;
      int bits = 0;
      int p = at + 32;
      for (int i = 0; i < 360; i++) {
        while (p < at + headerSize && bits <= 24) {
          acc |= (v2[p++] & 0xffL) << bits;
          bits += 8;
        }
        int len;
        if ((acc & 3) == 0 || (acc & 3) == 2) {
          freq[i] = (int) (acc >> 1) & 1;
          len = 2;
        } else if ((acc & 7) == 1 || (acc & 7) == 5) {
          freq[i] = 2 + ((int) (acc >> 2) & 1);
          len = 3;
        } else if ((acc & 7) == 3) {
          freq[i] = 4 + ((int) (acc >> 3) & 3);
          len = 5;
        } else if ((acc & 15) == 7) {
          freq[i] = 8 + ((int) (acc >> 4) & 15);
          len = 8;
        } else {
          freq[i] = 24 + ((int) (acc >> 4) & 1023);
          len = 14;
        }
        acc >>>= len;
        bits -= len;
      }
      int nLitPayload = (int) (f0 >>> 20) & 0xfffff;
      int nLmdPayload = (int) (f1 >>> 40) & 0xfffff;
      ByteBuffer h = ByteBuffer.allocate(772).order(ByteOrder.LITTLE_ENDIAN);
      h.putInt(0x31787662).putInt(in.getInt(at + 4)).putInt(nLitPayload + nLmdPayload);
      h.putInt((int) f0 & 0xfffff).putInt((int) (f0 >>> 40) & 0xfffff);
      h.putInt(nLitPayload).putInt(nLmdPayload);
      h.putInt((int) (f0 >>> 60 & 7) - 7);
      for (int i = 0; i < 4; i++) {
        h.putShort((short) (f1 >>> (10 * i) & 1023));
      }
      h.putInt((int) (f1 >>> 60 & 7) - 7);
      h.putShort((short) (f2 >>> 32 & 1023)).putShort((short) (f2 >>> 42 & 1023));
      h.putShort((short) (f2 >>> 52 & 1023));
      for (int f : freq) {
        h.putShort((short) f);
      }
      out.write(h.array(), 0, 772);
      out.write(v2, at + headerSize, nLitPayload + nLmdPayload);
      at += headerSize + nLitPayload + nLmdPayload;
    }
  }

  private static byte[] lzvn(byte[] payload, int raw) {
    ByteBuffer b = ByteBuffer.allocate(payload.length + 16).order(ByteOrder.LITTLE_ENDIAN);
    b.put("bvxn".getBytes()).putInt(raw).putInt(payload.length).put(payload).put("bvx$".getBytes());
    return b.array();
  }

  static byte[] vector(String name) throws IOException {
    try (InputStream in =
        LzfseTest.class.getClassLoader().getResourceAsStream("codec/lzfse/" + name + ".lzfse")) {
      return in.readAllBytes();
    }
  }
}
