package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.codec.Compression;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.ImageWriter;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.source.FileDisk;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * create maps a file source's chunks instead of copying them: every mapping must be gone when the
 * run ends (held until a GC, they would fill memory on a large disk), and the image must hold the
 * file's bytes, raw and compressed chunks alike.
 */
class CreateMappingTest {
  static ActorSystem system;
  static final int CS = 256 << 10;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("create-mapping-test");
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  @Test
  void mappingsAreReleasedAndTheImageHoldsTheFile() throws Exception {
    Path raw = dir.resolve("source.raw");
    Random r = new Random(11);
    byte[] all = new byte[12 << 20];
    r.nextBytes(all); // incompressible: stored raw from the mapping
    byte[] text = "mapped, not copied\n".repeat(100_000).getBytes();
    System.arraycopy(text, 0, all, 4 << 20, text.length); // compressible chunks
    java.util.Arrays.fill(all, 8 << 20, 9 << 20, (byte) 0); // zero chunks
    try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
      f.write(all);
    }
    Path out = dir.resolve("source.imprint");
    CreateOptions o = new CreateOptions(CS, Compression.DEFAULT, ImageKind.DEVICE, 2, "test");
    try (FileDisk disk = FileDisk.open(raw);
        ImageWriter w = ImageWriter.create(out, header(disk.size()))) {
      new CreatePipeline(Materializer.matFromSystem(system), o)
          .run(disk, w, ProgressListener.NONE)
          .toCompletableFuture()
          .get();
      assertEquals(List.of(), mappingsOf(raw), "every chunk's mapping is released");
      w.finish(List.of(), null);
    }
    try (Image image = Image.open(FileDisk.open(out))) {
      ByteBuffer scratch = ByteBuffer.allocateDirect(Codec.ZSTD.maxCompressedLength(CS) + 64);
      ByteBuffer decoded = ByteBuffer.allocateDirect(CS);
      List<IndexEntry> index = image.metadata().index();
      boolean sawRaw = false;
      boolean sawZstd = false;
      for (int i = 0; i < index.size(); i++) {
        IndexEntry e = index.get(i);
        if (e.kind() != RangeKind.DATA) {
          continue;
        }
        sawRaw |= e.codec() == Codec.NONE;
        sawZstd |= e.codec() == Codec.ZSTD;
        ByteBuffer stored = image.readStored(i, scratch.clear());
        decoded.clear();
        Image.decode(e, i, stored, decoded, "test"); // checks the SHA-256 too
        byte[] got = new byte[(int) e.logicalLength()];
        decoded.flip().get(got);
        byte[] want =
            java.util.Arrays.copyOfRange(
                all, (int) e.logicalOffset(), (int) (e.logicalOffset() + e.logicalLength()));
        assertArrayEquals(want, got, "chunk at " + e.logicalOffset());
      }
      assertEquals(List.of(true, true), List.of(sawRaw, sawZstd), "raw and zstd chunks");
      assertEquals(1 << 20, image.metadata().bytesOf(RangeKind.ZERO));
    }
  }

  private static ImageHeader header(long size) {
    return new ImageHeader(
        ImageHeader.MAJOR,
        ImageHeader.MINOR,
        size,
        512,
        CS,
        ImageKind.DEVICE,
        Codec.ZSTD,
        PartitionScheme.NONE,
        Instant.now(),
        "t",
        "t",
        List.of());
  }

  private static List<String> mappingsOf(Path file) throws Exception {
    String name = file.toRealPath().toString();
    return Files.readAllLines(Path.of("/proc/self/maps")).stream()
        .filter(l -> l.endsWith(name))
        .toList();
  }
}
