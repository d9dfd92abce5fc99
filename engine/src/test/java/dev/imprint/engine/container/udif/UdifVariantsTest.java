package dev.imprint.engine.container.udif;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.testing.TestData;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * UDIF variants the fixtures lack: LZMA chunks stored as bare .lzma streams (hdiutil's older
 * writers) rather than .xz, and a plain image whose disk holds an encrypted (LUKS2) volume, which
 * is only data and must read back byte for byte.
 */
class UdifVariantsTest {
  @TempDir Path tmp;

  /** 1: the size in the .lzma header; -1: unknown size and an end marker. */
  @ParameterizedTest
  @ValueSource(ints = {1, -1})
  void bareLzmaChunksDecodeAndAreChecked(int how) throws Exception {
    byte[] text = "a bare LZMA stream, as old hdiutil wrote\n".repeat(3000).getBytes();
    byte[] lzma = Arrays.copyOf(text, 256 * 512);
    byte[] random = TestData.random(64 * 512, 5);
    byte[] dmg =
        new UdifBuilder()
            .bareLzma(how)
            .table(
                new UdifBuilder.Part(Chunk.LZMA, lzma),
                new UdifBuilder.Part(Chunk.RAW, random),
                new UdifBuilder.Part(Chunk.LZMA, random))
            .build();
    int stored = dmg.length;
    assertFalse(contains(dmg, new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z'}), "no .xz stream");
    Path p = Files.write(tmp.resolve("bare.dmg"), dmg);
    ByteArrayOutputStream want = new ByteArrayOutputStream();
    want.write(lzma);
    want.write(random);
    want.write(random);
    try (ContainerDisk d = UdifTest.open(p)) {
      assertArrayEquals(want.toByteArray(), UdifTest.readAll(d));
      // Part of a chunk, from its middle: decoded and cut.
      ByteBuffer b = ByteBuffer.allocate(1000);
      d.read(b, 100_001);
      assertArrayEquals(Arrays.copyOfRange(lzma, 100_001, 101_001), b.array());
      d.scan(done -> {}); // the table and data fork CRC-32s match
      assertTrue(d.describe().get("chunks").contains("LZMA 2"), d.describe().toString());
    }
    assertTrue(stored < want.size(), "the text compressed");

    // A damaged bare stream is damage when read, one line naming the chunk.
    byte[] bad = dmg.clone();
    for (int i = 40; i < 60; i++) {
      bad[i] ^= 0x5a;
    }
    assertDamagedWhenRead(bad, "");
    // A header asking for a 1 GiB dictionary: refused by the memory limit, not allocated.
    byte[] greedy = dmg.clone();
    greedy[1] = greedy[2] = greedy[3] = 0;
    greedy[4] = 0x40;
    assertDamagedWhenRead(greedy, "memory");
  }

  private void assertDamagedWhenRead(byte[] dmg, String says) throws Exception {
    Path q = Files.write(Files.createTempFile(tmp, "bad", ".dmg"), dmg);
    try (ContainerDisk d = UdifTest.open(q)) {
      ImageDamagedException e =
          assertThrows(ImageDamagedException.class, () -> UdifTest.readAll(d));
      assertTrue(e.getMessage().contains("LZMA chunk at disk offset 0"), e::getMessage);
      assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains(says), e::getMessage);
      assertFalse(e.getMessage().contains("\n"), e::getMessage);
    }
  }

  @Test
  void aPlainImageOfALuksVolumeReadsBackByteForByte() throws Exception {
    byte[] disk = UdifImages.luksDisk(tmp);
    Path dmg = UdifImages.write(disk, tmp.resolve("luks.dmg"));
    try (ContainerDisk d = UdifTest.open(dmg)) {
      assertEquals(disk.length, d.size());
      assertEquals(UdifTest.sha256(disk), UdifTest.sha256(UdifTest.readAll(d)));
      d.scan(done -> {});
    }
  }

  private static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
