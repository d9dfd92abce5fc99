package dev.imprint.engine.multicast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.Image;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The layout, the carousel's order and the datagram's fields. */
class StreamLayoutTest {
  @TempDir Path dir;

  @Test
  void symbolsAndBlocksCoverEveryChunkOnce() throws Exception {
    byte[] disk = StreamImages.disk(3 << 20, 256 << 10, 3);
    try (Image image =
        StreamImages.open(StreamImages.write(dir.resolve("a.imprint"), disk, 256 << 10))) {
      StreamParams params = new StreamParams(1400, 37, 3, 0, 20, 4);
      StreamLayout l = StreamLayout.of(image.metadata().index(), params);
      assertEquals(8, l.chunks(), "12 chunks, a third of them zeros that do not travel");
      int symbols = 0;
      for (int c = 0; c < l.chunks(); c++) {
        assertEquals(symbols, l.firstSymbol(c));
        assertEquals((l.storedLength(c) + 1399) / 1400, l.symbolsOf(c));
        assertEquals(c, l.chunkOfSymbol(l.firstSymbol(c)));
        assertEquals(c, l.chunkOfSymbol(l.firstSymbol(c) + l.symbolsOf(c) - 1));
        symbols += l.symbolsOf(c);
      }
      assertEquals(symbols, l.symbols());
      int covered = 0;
      int minK = Integer.MAX_VALUE;
      int maxK = 0;
      for (int b = 0; b < l.blocks(); b++) {
        assertEquals(covered, l.blockStart(b));
        for (int s = l.blockStart(b); s < l.blockStart(b) + l.blockK(b); s++) {
          assertEquals(b, l.blockOf(s));
        }
        covered += l.blockK(b);
        minK = Math.min(minK, l.blockK(b));
        maxK = Math.max(maxK, l.blockK(b));
      }
      assertEquals(symbols, covered);
      assertTrue(
          maxK <= 37 && maxK - minK <= 1, "blocks of nearly equal size: " + minK + ".." + maxK);

      // The carousel: each group sends every source once and r parity per block, interleaved.
      Carousel car = new Carousel(l, 3);
      Set<Long> seen = new HashSet<>();
      List<Integer> order = new ArrayList<>();
      for (int g = 0; g < car.groups(); g++) {
        car.schedule(
            g,
            4,
            10,
            (b, i) -> {
              assertTrue(seen.add((long) b << 8 | i), "symbol sent twice in a loop");
              order.add(b);
            });
      }
      assertEquals(symbols + 4 * l.blocks(), seen.size());
      assertTrue(
          order.subList(0, 3).equals(List.of(0, 1, 2)), "interleaved: " + order.subList(0, 6));
      assertEquals(l.blockK(0) + 10, Carousel.parityIndex(l.blockK(0), 10, 0));
      int k = l.blockK(0);
      assertEquals(k, Carousel.parityIndex(k, 256 - k, 0), "parity rotation wraps");
    }
  }

  @Test
  void datagramFieldsAndMac() {
    SessionKeys keys = SessionKeys.generate(new byte[32]);
    Datagram d = new Datagram(keys);
    ByteBuffer b = ByteBuffer.allocate(Datagram.length(64));
    Datagram.header(b, keys, -2, 3, 70000, 100, 201, 64);
    d.seal(b, 64);
    assertEquals(Datagram.length(64), b.limit());
    assertTrue(Datagram.belongsTo(b, keys));
    assertTrue(d.verify(b));
    assertEquals(-2, Datagram.sequence(b));
    assertEquals(3, Datagram.loop(b));
    assertEquals(70000, Datagram.block(b));
    assertEquals(100, Datagram.k(b));
    assertEquals(201, Datagram.index(b));
    assertEquals(64, Datagram.symbolSize(b));
    b.put(40, (byte) 1);
    assertTrue(!d.verify(b), "an altered symbol fails the MAC");
    SessionKeys other = SessionKeys.generate(new byte[32]);
    assertTrue(!Datagram.belongsTo(b, other), "another session's");
    assertEquals(
        1416, StreamParams.symbolSizeFor(1500), "the largest symbol a 1500-byte MTU carries");
    assertThrows(IllegalArgumentException.class, () -> new StreamParams(1401, 100, 16, 2, 50, 10));
    assertThrows(IllegalArgumentException.class, () -> new StreamParams(1400, 220, 16, 2, 50, 10));
  }
}
