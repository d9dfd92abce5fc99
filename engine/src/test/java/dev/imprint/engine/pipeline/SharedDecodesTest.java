package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
