package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.ImageMutations;
import dev.imprint.engine.image.MetadataCheck;
import dev.imprint.engine.source.DecodedDisk;
import dev.imprint.engine.source.Magic.Format;
import dev.imprint.engine.source.SourceException;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Streams that must not restore: cut short, empty, or an image that --trust cannot prove. */
class StreamSupplyTest {
  static final int CS = 1 << 20;
  static final int DISK = 32 << 20;
  static ActorSystem system;
  static Materializer mat;
  static ExecutorService cpu;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("stream-supply-test");
    mat = Materializer.matFromSystem(system);
    cpu = Executors.newFixedThreadPool(2);
  }

  @AfterAll
  static void stop() {
    cpu.shutdownNow();
    system.terminate();
  }

  /** A 32 MiB GPT disk with one partition holding some bytes. */
  private byte[] gptDisk() throws IOException {
    Root.assumeCommands("sgdisk");
    Path disk = dir.resolve("gpt.img");
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
      f.setLength(DISK);
    }
    Cmd.run("sgdisk", "-n", "1:2048:+8M", disk.toString());
    byte[] b = Files.readAllBytes(disk);
    for (int i = 2 << 20; i < 3 << 20; i += 7) {
      b[i] = (byte) i;
    }
    return b;
  }

  /** Runs the supply to its end; returns the bytes it delivered. */
  private static long drain(DiskChunks supply) {
    AtomicLong bytes = new AtomicLong();
    supply
        .chunks(2, cpu)
        .runWith(
            Sink.foreach(
                c -> {
                  bytes.addAndGet(c.length());
                  c.release();
                }),
            mat)
        .toCompletableFuture()
        .orTimeout(60, TimeUnit.SECONDS)
        .join();
    return bytes.get();
  }

  private static DiskChunks supply(byte[] stream, Format format) throws IOException {
    return new DiskChunks(
        DecodedDisk.open(
            "disk.img.zst", new ByteArrayInputStream(stream), format, OptionalLong.empty()),
        CS);
  }

  /** The refusal a stream ends with: a SourceException, or damage for a truncated disk. */
  private static java.io.IOException failure(DiskChunks supply) {
    CompletionException e = assertThrows(CompletionException.class, () -> drain(supply));
    Throwable t = e.getCause();
    while (t != null
        && !(t instanceof SourceException)
        && !(t instanceof dev.imprint.engine.image.ImageDamagedException)) {
      t = t.getCause();
    }
    assertInstanceOf(java.io.IOException.class, t, () -> "not a refusal: " + e);
    return (java.io.IOException) t;
  }

  @Test
  void aWholeGptDiskStreamsToItsEnd() throws Exception {
    byte[] disk = gptDisk();
    assertEquals(DISK, drain(supply(disk, Format.RAW)));
    Root.assumeCommands("zstd");
    assertEquals(DISK, drain(supply(zstd(disk), Format.ZSTD)));
  }

  @Test
  void aTruncatedGptDiskFailsAtItsEnd() throws Exception {
    byte[] disk = gptDisk();
    byte[] half = Arrays.copyOf(disk, DISK / 2 + 12345);
    String want =
        "source disk.img.zst ends after "
            + half.length
            + " bytes, but its partition table says the disk is "
            + DISK
            + " bytes: it is truncated (download or copy it again)";
    java.io.IOException cut = failure(supply(half, Format.RAW));
    // Damage, as every command counts it (exit 4).
    assertInstanceOf(dev.imprint.engine.image.ImageDamagedException.class, cut);
    assertEquals(want, cut.getMessage());
    // A complete zstd frame of a cut disk: the decoder sees nothing wrong, the table does.
    Root.assumeCommands("zstd");
    assertEquals(want, failure(supply(zstd(half), Format.ZSTD)).getMessage());
  }

  @Test
  void anEmptyStreamIsNoDisk() throws Exception {
    assertTrue(
        failure(supply(new byte[0], Format.RAW)).getMessage().contains("is empty"), "empty stream");
  }

  @Test
  void trustCannotBeProvenForAPipeAndIsRefusedBeforeReading() throws Exception {
    Path p = dir.resolve("unsigned.imprint");
    ImageMutations.smallImage(p, null);
    byte[] image = Files.readAllBytes(p);
    ByteArrayInputStream in = new ByteArrayInputStream(image);
    SourceException e =
        assertThrows(
            SourceException.class,
            () -> new StreamedImageChunks(in, "standard input", MetadataCheck.trust(m -> {})));
    assertTrue(
        e.getMessage().startsWith("--trust needs the image's signature checked"), e::toString);
    assertTrue(e.getMessage().contains("give the image as a file"), e::toString);
    assertEquals(image.length, in.available(), "nothing was read");
    // Without --trust the same stream is read (its check runs at the end).
    try (StreamedImageChunks ok =
        new StreamedImageChunks(new ByteArrayInputStream(image), "pipe", MetadataCheck.NONE)) {
      assertEquals(64 << 10, ok.chunkSize());
    }
  }

  private byte[] zstd(byte[] raw) throws IOException {
    Path in = Files.write(dir.resolve("raw.bin"), raw);
    Path out = dir.resolve("raw.bin.zst");
    Files.deleteIfExists(out);
    Cmd.run("zstd", "-q", "-1", in.toString(), "-o", out.toString());
    return Files.readAllBytes(out);
  }
}
