package dev.imprint.engine.bmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.pipeline.Chunk;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link BmapCheck} alone: chunks of any size, data or zeros, fed in disk order; a range's checksum
 * is decided by the chunk holding its last byte, which is the one refused.
 */
class BmapCheckTest {
  private static final int BS = 4096;

  @TempDir Path dir;

  /** 12 blocks and a partial one: random, but blocks 5 and 6 all zeros. */
  private static byte[] image() {
    byte[] b = new byte[12 * BS + 100];
    new SplittableRandom(9).nextBytes(b);
    Arrays.fill(b, 5 * BS, 7 * BS, (byte) 0);
    return b;
  }

  private BmapCheck check(byte[] original, String version, String type) throws Exception {
    Path p = dir.resolve(version + "-" + type + ".bmap");
    Files.writeString(p, BmapTest.bmapXml(original, BS, version, type, 0, 1, 3, 3, 5, 6, 8, 12));
    return new BmapCheck(Bmap.read(p));
  }

  /** {@code img} in chunks of {@code size} in disk order, zero blocks 5-6 as one ZERO chunk. */
  private static List<Chunk> chunks(byte[] img, int size) {
    List<Chunk> out = new ArrayList<>();
    long at = 0;
    while (at < img.length) {
      Chunk chunk;
      if (at == 5 * BS) {
        chunk = Chunk.empty(at, 2 * BS, RangeKind.ZERO);
      } else {
        long end = Math.min(img.length, at < 5 * BS ? Math.min(at + size, 5 * BS) : at + size);
        chunk = Chunk.data(at, ByteBuffer.wrap(img, (int) at, (int) (end - at)).slice(), 0, null);
      }
      out.add(chunk);
      at = chunk.end();
    }
    return out;
  }

  @ParameterizedTest
  @CsvSource({"1.3, ", "1.4, md5", "2.0, md5", "2.0, sha1", "2.0, sha256"})
  void soundBytesPassInChunksOfAnySize(String version, String type) throws Exception {
    byte[] img = image();
    for (int size : new int[] {BS, 1000, 3 * BS + 7, img.length}) {
      BmapCheck c = check(img, version, type);
      for (Chunk chunk : chunks(img, size)) {
        c.check(chunk);
      }
      c.end(img.length);
    }
  }

  @ParameterizedTest
  @CsvSource({"1.3, ", "1.4, md5", "2.0, md5"})
  void aChangedByteIsRefusedAtTheChunkHoldingItsRangesLastByte(String version, String type)
      throws Exception {
    byte[] img = image();
    BmapCheck c = check(img, version, type);
    byte[] bad = img.clone();
    bad[3 * BS + 5] ^= 1; // range 3-3: bytes 12288-16383, its last in chunk 16000-16999
    for (Chunk chunk : chunks(bad, 1000)) {
      if (chunk.end() <= 4 * BS - 1) {
        c.check(chunk); // the range's first bytes pass: its checksum is not known yet
        continue;
      }
      assertEquals(16000, chunk.offset());
      ImageDamagedException e = assertThrows(ImageDamagedException.class, () -> c.check(chunk));
      String algorithm = "md5".equals(type) ? "MD5" : "SHA-1";
      assertTrue(
          e.getMessage().contains("blocks 3-3 (bytes 12288-16383) give " + algorithm),
          e::getMessage);
      assertFalse(e.getMessage().contains("\n"), e::getMessage);
      return;
    }
    throw new AssertionError("no chunk was refused");
  }

  @Test
  void aZeroChunkWhereTheRangeHoldsDataIsRefused() throws Exception {
    byte[] img = image();
    BmapCheck c = check(img, "2.0", "sha256");
    c.check(Chunk.data(0, ByteBuffer.wrap(img, 0, 3 * BS).slice(), 0, null));
    ImageDamagedException e =
        assertThrows(
            ImageDamagedException.class, () -> c.check(Chunk.empty(3 * BS, BS, RangeKind.ZERO)));
    assertTrue(e.getMessage().contains("blocks 3-3"), e::getMessage);
  }

  @Test
  void aStreamOfAnotherLengthIsRefusedAtItsEnd() throws Exception {
    byte[] img = image();
    BmapCheck c = check(img, "1.3", null);
    ImageDamagedException e =
        assertThrows(ImageDamagedException.class, () -> c.end(img.length - 100));
    assertTrue(e.getMessage().contains("cut short"), e::getMessage);
    assertEquals(
        IllegalStateException.class,
        assertThrows(RuntimeException.class, () -> c.check(Chunk.empty(BS, BS, RangeKind.ZERO)))
            .getClass());
  }
}
