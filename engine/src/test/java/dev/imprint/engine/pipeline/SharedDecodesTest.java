package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.codec.Compression;
import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.ImageWriter;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.TestData;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Readers of one image open at the same time (a station's slots) decode each chunk once. */
class SharedDecodesTest {
  static ActorSystem system;
  static Materializer mat;
  static final int CS = 256 << 10;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("shared-decodes-test");
    mat = Materializer.matFromSystem(system);
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  private Path image(Path raw) throws Exception {
    Path out = dir.resolve("disk.imprint");
    try (FileDisk disk = FileDisk.open(raw);
        ImageWriter w =
            ImageWriter.create(
                out,
                new ImageHeader(
                    1,
                    0,
                    disk.size(),
                    512,
                    CS,
                    ImageKind.DEVICE,
                    Compression.DEFAULT.codec(),
                    PartitionScheme.NONE,
                    Instant.now(),
                    "t",
                    raw.toString(),
                    List.of()))) {
      new CreatePipeline(mat, new CreateOptions(CS, Compression.DEFAULT, ImageKind.DEVICE, 2, "t"))
          .run(disk, w, ProgressListener.NONE)
          .toCompletableFuture()
          .get();
      w.finish(List.of(), null);
    }
    return out;
  }

  /** Reads every chunk, checks it against the raw disk, and releases it; returns how many. */
  private static CompletableFuture<Integer> readAll(
      ImageChunks supply, byte[] raw, ExecutorService cpu) {
    return supply
        .chunks(2, cpu)
        .runWith(
            Sink.fold(
                0,
                (n, c) -> {
                  if (c.kind() == RangeKind.DATA) {
                    ByteBuffer want = ByteBuffer.wrap(raw, (int) c.offset(), (int) c.length());
                    assertEquals(want, c.view(), "chunk at " + c.offset());
                    assertEquals(Xxh64.of(want), c.xxh64());
                  }
                  c.release();
                  return n + (c.kind() == RangeKind.DATA ? 1 : 0);
                }),
            mat)
        .toCompletableFuture();
  }

  @Test
  void threeReadersAtOnceDecodeEachChunkOnceAndALoneReaderCopiesNothing() throws Exception {
    Path raw = TestData.randomFile(dir.resolve("disk.raw"), 6 << 20, 11);
    TestData.setLength(raw, 8 << 20);
    byte[] bytes = Files.readAllBytes(raw);
    Path img = image(raw);
    ExecutorService cpu = Executors.newFixedThreadPool(4);
    try {
      long before = ImageChunks.decodedChunks();
      int dataChunks;
      try (ImageChunks alone = new ImageChunks(Image.open(FileDisk.open(img)))) {
        dataChunks = readAll(alone, bytes, cpu).get();
      }
      assertEquals(24, dataChunks);
      assertEquals(dataChunks, ImageChunks.decodedChunks() - before);

      before = ImageChunks.decodedChunks();
      try (ImageChunks a = new ImageChunks(Image.open(FileDisk.open(img)));
          ImageChunks b = new ImageChunks(Image.open(FileDisk.open(img)));
          ImageChunks c = new ImageChunks(Image.open(FileDisk.open(img)))) {
        var ra = readAll(a, bytes, cpu);
        var rb = readAll(b, bytes, cpu);
        var rc = readAll(c, bytes, cpu);
        assertEquals(List.of(24, 24, 24), List.of(ra.get(), rb.get(), rc.get()));
      }
      assertEquals(dataChunks, ImageChunks.decodedChunks() - before, "each chunk decoded once");
      assertEquals(0, SharedDecodes.INSTANCE.unheldBytes(), "nothing kept once the readers close");

      // Once the others are closed, a reader decodes for itself again.
      before = ImageChunks.decodedChunks();
      try (ImageChunks again = new ImageChunks(Image.open(FileDisk.open(img)))) {
        readAll(again, bytes, cpu).get();
      }
      assertEquals(dataChunks, ImageChunks.decodedChunks() - before);
    } finally {
      cpu.shutdown();
    }
  }

  /**
   * A buffer of a size no other test uses, filled with {@code fill}, as a decode would leave it.
   */
  private static ByteBuffer decoded(BufferPool pool, byte fill) {
    ByteBuffer b = pool.acquire();
    while (b.hasRemaining()) {
      b.put(fill);
    }
    return b.flip();
  }

  /** True when the next free buffer of the pool's size holds {@code fill}: a recycled decode. */
  private static boolean recycled(BufferPool pool, byte fill) {
    ByteBuffer b = pool.acquire();
    try {
      return b.get(0) == fill && b.get(b.capacity() - 1) == fill;
    } finally {
      // Zeroed again, so a later look never mistakes it for a decode.
      while (b.hasRemaining()) {
        b.put((byte) 0);
      }
      pool.release(b);
    }
  }

  @Test
  void aSharedBufferIsFreedOnlyWhenEveryReaderThatHeldItHasLetGo() {
    SharedDecodes shares = new SharedDecodes(() -> 0); // keep nothing that nobody holds
    BufferPool pool = new BufferPool(12 * 4096 + 512); // a size of this test's own
    String img = "a.imprint\0digest";
    shares.open(img);
    shares.open(img);
    shares.open(img);
    SharedDecodes.Hold first = shares.claim(img, 3);
    assertTrue(first.decodes());
    SharedDecodes.Hold second = shares.claim(img, 3);
    assertFalse(second.decodes(), "the second reader waits for the first's decode");
    ByteBuffer out = decoded(pool, (byte) 7);
    pool.unreserve(); // the buffer is the shares' now; the reader keeps its reservation
    first.offer(out, 42);
    SharedDecodes.Decoded d = second.await();
    assertEquals(42, d.xxh());
    assertEquals((byte) 7, d.bytes().get(0));

    first.release();
    assertFalse(recycled(pool, (byte) 7), "freed while the second reader still writes it");
    SharedDecodes.Hold third = shares.claim(img, 3);
    assertFalse(third.decodes(), "a chunk held by a reader is still served to others");
    second.release();
    second.release(); // a second release of one hold changes nothing
    assertFalse(recycled(pool, (byte) 7), "freed while the third reader still writes it");
    third.release();
    assertTrue(recycled(pool, (byte) 7), "freed once the last reader let go");
    assertEquals(0, shares.unheldBytes());
    assertTrue(shares.claim(img, 3).decodes(), "gone: the next reader decodes it");
  }

  @Test
  void chunksNobodyHoldsAreKeptWithinTheBudgetOldestFirstOut() {
    int size = 9 * 4096 + 512;
    SharedDecodes shares = new SharedDecodes(() -> 2L * size);
    BufferPool pool = new BufferPool(size);
    String img = "b.imprint\0digest";
    shares.open(img);
    shares.open(img);
    for (int i = 0; i < 4; i++) {
      SharedDecodes.Hold h = shares.claim(img, i);
      assertTrue(h.decodes());
      h.offer(decoded(pool, (byte) (i + 1)), i);
      pool.unreserve();
      h.release();
    }
    assertEquals(2L * size, shares.unheldBytes());
    assertTrue(shares.claim(img, 0).decodes(), "the oldest went first");
    assertTrue(shares.claim(img, 1).decodes());
    SharedDecodes.Hold kept = shares.claim(img, 3);
    assertFalse(kept.decodes(), "the newest are kept");
    assertEquals(3, kept.await().xxh());
    kept.release();

    // Once the last reader of the image closes, nothing of it is kept.
    shares.close(img);
    shares.close(img);
    assertEquals(0, shares.unheldBytes());
    assertNull(shares.claim(img, 3), "no readers, no sharing");
  }

  @Test
  void aChunkEveryOpenReaderHasHadIsFreedAtOnceEvenWithinTheBudget() {
    SharedDecodes shares = new SharedDecodes(() -> 1L << 30);
    BufferPool pool = new BufferPool(11 * 4096 + 512);
    String img = "c.imprint\0digest";
    shares.open(img);
    shares.open(img);
    SharedDecodes.Hold a = shares.claim(img, 0);
    a.offer(decoded(pool, (byte) 5), 5);
    pool.unreserve();
    a.release();
    assertFalse(recycled(pool, (byte) 5), "kept: the second reader has not had it yet");
    SharedDecodes.Hold b = shares.claim(img, 0);
    assertFalse(b.decodes());
    b.release();
    assertTrue(recycled(pool, (byte) 5), "both readers had it: nobody open wants it");
    assertEquals(0, shares.unheldBytes());
  }

  @Test
  void anotherImageFileOrAFailedDecodeIsNeverServed() {
    SharedDecodes shares = new SharedDecodes(() -> 1L << 30);
    BufferPool pool = new BufferPool(10 * 4096 + 512);
    String good = "good.imprint\0digest";
    String copy = "damaged-copy.imprint\0digest"; // the same digest, another file
    shares.open(good);
    shares.open(good);
    shares.open(copy);
    shares.open(copy);
    SharedDecodes.Hold g = shares.claim(good, 0);
    g.offer(decoded(pool, (byte) 1), 1);
    pool.unreserve();
    SharedDecodes.Hold c = shares.claim(copy, 0);
    assertTrue(c.decodes(), "the copy decodes its own chunk");

    SharedDecodes.Hold waiting = shares.claim(copy, 0);
    assertFalse(waiting.decodes());
    c.withdraw(new java.io.IOException("chunk 0 fails its SHA-256"));
    assertNull(waiting.await(), "a failed decode is not served");
    waiting.release();
    assertTrue(shares.claim(copy, 0).decodes(), "nor kept");
    assertEquals(0, shares.unheldBytes(), "the good image's chunk is held by its reader");
    g.release();
    assertEquals(10 * 4096 + 512, shares.unheldBytes(), "and kept once it is not");
  }
}
