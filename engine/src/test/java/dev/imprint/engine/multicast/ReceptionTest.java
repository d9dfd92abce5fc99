package dev.imprint.engine.multicast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.Image;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sender's datagrams fed straight to a reception: loss, forgery, repair, memory bound. */
class ReceptionTest {
  static final int CHUNK = 256 << 10;
  static final int SIZE = 4 << 20;
  static final StreamParams PARAMS = new StreamParams(1400, 60, 4, 2, 40, 8);

  @TempDir Path dir;
  final ExecutorService decoders = Executors.newFixedThreadPool(2);

  @AfterEach
  void stop() {
    decoders.shutdownNow();
  }

  /** Every datagram of loops [0, loops) to {@code out}, as the sender would send them. */
  static void stream(Image image, StreamLayout l, SessionKeys keys, int loops, Emitter.Out out)
      throws Exception {
    Carousel c = new Carousel(l, PARAMS.interleave());
    Emitter e = new Emitter(c, keys);
    SourceSymbols s = new SourceSymbols(l, StoredChunks.of(image));
    EncodedGroup g = new EncodedGroup();
    long rotation = 0;
    for (int loop = 0; loop < loops; loop++) {
      for (int gr = 0; gr < c.groups(); gr++) {
        g.prepare(c, s, ForkJoinPool.commonPool(), loop, gr, PARAMS.parity(), rotation);
        e.emit(g, out);
      }
      rotation += PARAMS.parity();
    }
  }

  @Test
  void lossyStreamIsDeliveredExactAndOnce() throws Exception {
    byte[] disk = StreamImages.disk(SIZE, CHUNK, 1);
    try (Image image =
        StreamImages.open(StreamImages.write(dir.resolve("a.imprint"), disk, CHUNK))) {
      StreamLayout l = StreamLayout.of(image.metadata().index(), PARAMS);
      SessionKeys keys = SessionKeys.generate(image.metadata().digest());
      StreamImages.Collector got = new StreamImages.Collector(SIZE);
      Reception r = new Reception(l, image.metadata().index(), keys, got, decoders, 64L << 20);
      Random rnd = new Random(3);
      stream(
          image,
          l,
          keys,
          3,
          d -> {
            if (rnd.nextInt(100) >= 10) {
              r.offer(d);
            }
          });
      assertTrue(r.await(30, TimeUnit.SECONDS), "done from three loops at 10% loss");
      assertArrayEquals(disk, got.disk);
      got.seen.values().forEach(n -> assertEquals(1, n));
      Reception.Progress p = r.progress();
      assertEquals(0, p.forged());
      assertTrue(p.lossRate() > 0.07 && p.lossRate() < 0.13, "loss " + p.lossRate());
      assertTrue(p.fullLoopSeen());
    }
  }

  @Test
  void forgedAlteredAndForeignDatagramsNeverReachOutput() throws Exception {
    byte[] disk = StreamImages.disk(SIZE, CHUNK, 2);
    byte[] other = StreamImages.disk(SIZE, CHUNK, 9);
    try (Image image =
            StreamImages.open(StreamImages.write(dir.resolve("a.imprint"), disk, CHUNK));
        Image wrong =
            StreamImages.open(StreamImages.write(dir.resolve("b.imprint"), other, CHUNK))) {
      StreamLayout l = StreamLayout.of(image.metadata().index(), PARAMS);
      SessionKeys keys = SessionKeys.generate(image.metadata().digest());
      StreamImages.Collector got = new StreamImages.Collector(SIZE);
      Reception r = new Reception(l, image.metadata().index(), keys, got, decoders, 64L << 20);
      Random rnd = new Random(5);
      // A rogue who knows the session id and digest (they travel in clear) but not the secret.
      SessionKeys rogue =
          new SessionKeys(keys.sessionId(), image.metadata().digest(), new byte[32]);
      StreamLayout wl = StreamLayout.of(wrong.metadata().index(), PARAMS);
      List<Reception.Verdict> bad = new ArrayList<>();
      stream(wrong, wl, rogue, 1, d -> bad.add(r.offer(d)));
      // Another session of the same image with its own secret: foreign.
      SessionKeys earlier = SessionKeys.generate(image.metadata().digest());
      stream(image, l, earlier, 1, d -> bad.add(r.offer(d)));
      stream(
          image,
          l,
          keys,
          2,
          d -> {
            ByteBuffer copy = ByteBuffer.allocate(d.remaining()).put(d.duplicate()).flip();
            int at = Datagram.HEADER + rnd.nextInt(1400);
            copy.put(at, (byte) (copy.get(at) ^ rnd.nextInt(1, 256)));
            bad.add(r.offer(copy)); // altered payload: the MAC fails
            ByteBuffer hdr = ByteBuffer.allocate(d.remaining()).put(d.duplicate()).flip();
            hdr.put(Datagram.AT_INDEX, (byte) (Datagram.index(d) ^ 1));
            bad.add(r.offer(hdr)); // altered header: the MAC fails
            ByteBuffer junk = ByteBuffer.allocate(d.remaining());
            rnd.nextBytes(junk.array());
            bad.add(r.offer(junk));
            r.offer(d);
          });
      assertFalse(bad.contains(Reception.Verdict.ACCEPTED));
      assertFalse(bad.contains(Reception.Verdict.DUPLICATE));
      assertTrue(r.await(30, TimeUnit.SECONDS));
      assertArrayEquals(disk, got.disk);
      Reception.Progress p = r.progress();
      assertEquals(0, p.rejectedChunks(), "nothing wrong ever reached a chunk's hash");
      assertTrue(p.forged() > 0 && p.foreign() > 0);
    }
  }

  @Test
  void repairCompletesWhatOneLoopMissed() throws Exception {
    byte[] disk = StreamImages.disk(SIZE, CHUNK, 4);
    Path img = StreamImages.write(dir.resolve("a.imprint"), disk, CHUNK);
    try (Image image = StreamImages.open(img)) {
      StreamLayout l = StreamLayout.of(image.metadata().index(), PARAMS);
      SessionKeys keys = SessionKeys.generate(image.metadata().digest());
      StreamImages.Collector got = new StreamImages.Collector(SIZE);
      Reception r = new Reception(l, image.metadata().index(), keys, got, decoders, 64L << 20);
      Random rnd = new Random(8);
      stream(
          image,
          l,
          keys,
          1,
          d -> {
            if (rnd.nextInt(100) >= 25) {
              r.offer(d);
            }
          });
      decoders.submit(() -> {}).get();
      Thread.sleep(0);
      assertFalse(r.isDone(), "25% loss with 8 parity per 60 leaves blocks missing");
      List<RepairRange> want = r.wanted(Long.MAX_VALUE);
      long bytes = want.stream().mapToLong(RepairRange::length).sum();
      assertTrue(bytes > 0 && bytes < l.storedBytes() / 4, "repair " + bytes);
      byte[] file = java.nio.file.Files.readAllBytes(img);
      for (RepairRange w : want) {
        r.repaired(w, ByteBuffer.wrap(file, (int) w.fileOffset(), w.length()));
      }
      assertTrue(r.await(30, TimeUnit.SECONDS));
      assertArrayEquals(disk, got.disk);
    }
  }

  @Test
  void memoryBudgetDropsNewBlocksButStillCompletes() throws Exception {
    byte[] disk = StreamImages.disk(SIZE, CHUNK, 6);
    try (Image image =
        StreamImages.open(StreamImages.write(dir.resolve("a.imprint"), disk, CHUNK))) {
      StreamLayout l = StreamLayout.of(image.metadata().index(), PARAMS);
      SessionKeys keys = SessionKeys.generate(image.metadata().digest());
      StreamImages.Collector got = new StreamImages.Collector(SIZE);
      // Room for about 12 blocks: far less than the image.
      Reception r =
          new Reception(l, image.metadata().index(), keys, got, decoders, 12L * 60 * 1400);
      Random rnd = new Random(2);
      stream(
          image,
          l,
          keys,
          12,
          d -> {
            if (!r.isDone() && rnd.nextInt(100) >= 30) {
              r.offer(d);
            }
          });
      assertTrue(r.await(30, TimeUnit.SECONDS), "progress " + r.progress());
      assertArrayEquals(disk, got.disk);
      assertTrue(r.progress().overBudget() > 0, "the budget was tested");
    }
  }
}
