package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.codec.Compression;
import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.ImageWriter;
import dev.imprint.engine.image.MetadataCheck;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.source.FileDisk;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Create an image from a sparse disk file, restore it to several targets, verify them. */
class PipelineTest {
  static ActorSystem system;
  static Materializer mat;
  static final int CS = 256 << 10;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("pipeline-test");
    mat = Materializer.matFromSystem(system);
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  /** 24 MiB: random data, a hole, compressible text, zeros written out, data at the very end. */
  private Path disk() throws IOException {
    Path p = dir.resolve("disk.raw");
    Random r = new Random(7);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(24 << 20);
      byte[] b = new byte[3 << 20];
      r.nextBytes(b);
      f.seek(0);
      f.write(b);
      byte[] text = "the quick brown fox jumps over the lazy dog\n".repeat(50000).getBytes();
      f.seek(10 << 20);
      f.write(text);
      f.seek(16 << 20);
      f.write(new byte[2 << 20]);
      byte[] tail = new byte[100_000];
      r.nextBytes(tail);
      f.seek((24 << 20) - tail.length);
      f.write(tail);
    }
    return p;
  }

  private Path create(Path raw) throws Exception {
    Path out = dir.resolve("disk.imprint");
    CreateOptions o = new CreateOptions(CS, Compression.DEFAULT, ImageKind.DEVICE, 2, "test");
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
      long done =
          new CreatePipeline(mat, o)
              .run(disk, w, ProgressListener.NONE)
              .toCompletableFuture()
              .get();
      assertEquals(24 << 20, done);
      w.finish(List.of(), null);
    }
    return out;
  }

  @Test
  void restoresToThreeTargetsAndVerifies() throws Exception {
    Path raw = disk();
    Path img = create(raw);
    try (Image image = Image.open(FileDisk.open(img))) {
      assertTrue(
          image.metadata().bytesOf(RangeKind.ZERO) >= (6 << 20),
          "holes and zero chunks become zero ranges");
      List<TargetWriter> writers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Path t = dir.resolve("t" + i + ".img");
        Files.write(t, new byte[] {1, 2, 3}); // an old file is replaced, not merged
        writers.add(new TargetWriter(t.toString(), TargetDevice.open(t, OpenMode.SHARED), false));
      }
      for (TargetWriter w : writers) {
        w.erase(image.header().logicalSize());
      }
      ImageChunks supply = new ImageChunks(image);
      RestorePipeline.Written written =
          new RestorePipeline(mat, new RestoreOptions(3, 1 << 20))
              .write(supply, writers)
              .toCompletableFuture()
              .get();
      Verifier v = new Verifier(mat, CS);
      for (TargetWriter w : writers) {
        assertFalse(w.failed(), () -> String.valueOf(w.failure()));
        assertEquals(-1, Files.mismatch(raw, w.device().path()));
        assertEquals(
            Optional.empty(),
            v.verify(w.device(), written.ranges(), ProgressListener.NONE)
                .toCompletableFuture()
                .get());
        assertEquals(
            Optional.empty(),
            v.verify(w.device(), Verifier.rangesOf(image.metadata()), ProgressListener.NONE)
                .toCompletableFuture()
                .get());
      }
      // A changed byte is found, with its chunk's offset.
      Path t0 = writers.get(0).device().path();
      try (RandomAccessFile f = new RandomAccessFile(t0.toFile(), "rw")) {
        f.seek((10 << 20) + 5);
        f.write('X');
      }
      Optional<Verifier.Mismatch> m =
          v.verify(writers.get(0).device(), written.ranges(), ProgressListener.NONE)
              .toCompletableFuture()
              .get();
      assertTrue(m.isPresent());
      assertEquals(10 << 20, m.get().offset());
      for (TargetWriter w : writers) {
        w.close();
      }
    }
  }

  @Test
  void pipeWithBadEndNeverWritesTheFirstChunk() throws Exception {
    Path raw = disk();
    Path img = create(raw);
    byte[] all = Files.readAllBytes(img);
    // Damage the trailer's digest: every chunk is fine, but the image as a whole is not.
    all[all.length - 40] ^= 1;
    Path t = dir.resolve("pipe.img");
    TargetWriter w = new TargetWriter(t.toString(), TargetDevice.open(t, OpenMode.SHARED), false);
    w.erase(24 << 20);
    StreamedImageChunks supply =
        new StreamedImageChunks(new ByteArrayInputStream(all), "pipe", MetadataCheck.NONE);
    var result =
        new RestorePipeline(mat, new RestoreOptions(2, 1 << 20))
            .write(supply, List.of(w))
            .toCompletableFuture();
    Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, result::get);
    assertTrue(w.failed());
    assertTrue(
        String.valueOf(w.failure().getMessage()).contains("trailer"),
        String.valueOf(w.failure().getMessage()));
    // The first MiB (where a partition table would be) was never written.
    byte[] head = new byte[1 << 20];
    try (RandomAccessFile f = new RandomAccessFile(t.toFile(), "r")) {
      f.readFully(head);
    }
    for (byte b : head) {
      assertEquals(0, b);
    }
    w.close();
    // The restore itself fails with the same reason.
    assertTrue(RestorePipeline.asIo(e).getMessage().contains("trailer"), e.toString());
  }
}
