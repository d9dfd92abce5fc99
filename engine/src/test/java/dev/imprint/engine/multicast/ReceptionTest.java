package dev.imprint.engine.multicast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.Image;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
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

  /** An image written from a seeded disk, its stream's layout and keys, and a reception of it. */
  private final class Fixture implements AutoCloseable {
    final byte[] disk;
    final Path file;
    final Image image;
    final StreamLayout layout;
    final SessionKeys keys;
    final StreamImages.Collector got = new StreamImages.Collector(SIZE);
    final Reception reception;

    Fixture(long seed, long budget) throws IOException {
      disk = StreamImages.disk(SIZE, CHUNK, seed);
      file = StreamImages.write(dir.resolve(seed + ".imprint"), disk, CHUNK);
      image = StreamImages.open(file);
      layout = StreamLayout.of(image.metadata().index(), PARAMS);
      keys = SessionKeys.generate(image.metadata().digest());
      reception = new Reception(layout, image.metadata().index(), keys, got, decoders, budget);
    }

    /** Offers {@code loops} loops, losing each datagram with {@code lossPercent}% chance. */
    void receive(int loops, int lossPercent, long seed) throws Exception {
      Random rnd = new Random(seed);
      stream(
          image,
          layout,
          keys,
          loops,
          d -> {
            if (!reception.isDone() && rnd.nextInt(100) >= lossPercent) {
              reception.offer(d);
            }
          });
    }

    /** Waits for the reception and checks every byte and that each chunk came once. */
    void assertExact() throws Exception {
      assertTrue(reception.await(30, TimeUnit.SECONDS), () -> "done: " + reception.progress());
      assertArrayEquals(disk, got.disk);
      got.seen.values().forEach(n -> assertEquals(1, n));
    }

    @Override
    public void close() throws IOException {
      image.close();
    }
  }

  @Test
  void lossyStreamIsDeliveredExactAndOnce() throws Exception {
    try (Fixture f = new Fixture(1, 64L << 20)) {
      f.receive(3, 10, 3);
      f.assertExact();
      Reception.Progress p = f.reception.progress();
      assertEquals(0, p.forged());
      assertTrue(p.lossRate() > 0.07 && p.lossRate() < 0.13, "loss " + p.lossRate());
      assertTrue(p.fullLoopSeen());
    }
  }

  @Test
  void forgedAlteredAndForeignDatagramsNeverReachOutput() throws Exception {
    try (Fixture f = new Fixture(2, 64L << 20);
        Fixture other = new Fixture(9, 64L << 20)) {
      Reception r = f.reception;
      Random rnd = new Random(5);
      // A rogue who knows the session id and digest (they travel in clear) but not the secret.
      SessionKeys rogue = new SessionKeys(f.keys.sessionId(), f.keys.imageDigest(), new byte[32]);
      List<Reception.Verdict> bad = new ArrayList<>();
      stream(other.image, other.layout, rogue, 1, d -> bad.add(r.offer(d)));
      // Another session of the same image with its own secret: foreign.
      SessionKeys earlier = SessionKeys.generate(f.keys.imageDigest());
      stream(f.image, f.layout, earlier, 1, d -> bad.add(r.offer(d)));
      stream(
          f.image,
          f.layout,
          f.keys,
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
      f.assertExact();
      Reception.Progress p = r.progress();
      assertEquals(0, p.rejectedChunks(), "nothing wrong ever reached a chunk's hash");
      assertTrue(p.forged() > 0 && p.foreign() > 0);
    }
  }

  @Test
  void repairCompletesWhatOneLoopMissed() throws Exception {
    try (Fixture f = new Fixture(4, 64L << 20)) {
      f.receive(1, 25, 8);
      decoders.submit(() -> {}).get();
      assertFalse(f.reception.isDone(), "25% loss with 8 parity per 60 leaves blocks missing");
      List<RepairRange> want = f.reception.wanted(Long.MAX_VALUE);
      long bytes = want.stream().mapToLong(RepairRange::length).sum();
      assertTrue(bytes > 0 && bytes < f.layout.storedBytes() / 4, "repair " + bytes);
      byte[] file = Files.readAllBytes(f.file);
      for (RepairRange w : want) {
        f.reception.repaired(w, ByteBuffer.wrap(file, (int) w.fileOffset(), w.length()));
      }
      f.assertExact();
    }
  }

  @Test
  void memoryBudgetDropsNewBlocksButStillCompletes() throws Exception {
    // Room for about 12 blocks: far less than the image.
    try (Fixture f = new Fixture(6, 12L * 60 * 1400)) {
      f.receive(12, 30, 2);
      f.assertExact();
      assertTrue(f.reception.progress().overBudget() > 0, "the budget was tested");
    }
  }
}
