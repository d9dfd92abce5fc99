package dev.imprint.engine.pipeline;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.codec.CodecException;
import dev.imprint.engine.codec.Probe;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.image.ImageWriter;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.Extent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Turns a disk into an image: read chunk -> detect zeros -> hash -> compress (all cores, order
 * kept) -> append to the image. Holes of a sparse source become zero ranges without being read.
 * Memory is bounded by the number of chunks in flight.
 */
public final class CreatePipeline {
  private static final String BLOCKING = "pekko.actor.default-blocking-io-dispatcher";

  private final Materializer mat;
  private final CreateOptions options;
  private final BufferPool stored;

  public CreatePipeline(Materializer mat, CreateOptions options) {
    this.mat = mat;
    this.options = options;
    int cs = options.chunkSize();
    this.stored = new BufferPool(options.compression().codec().maxCompressedLength(cs) + 64);
  }

  /**
   * One chunk ready to append; a null payload is a zero range. A payload from {@code stored} goes
   * back to it; a raw payload is the chunk's own buffer, released with the chunk.
   */
  private record Packed(
      RangeKind kind,
      long offset,
      int length,
      Codec codec,
      byte[] sha256,
      ByteBuffer payload,
      boolean pooled,
      Chunk chunk) {}

  /**
   * Runs the pipeline to completion into {@code writer} (not finished: the caller signs and
   * finishes). Fails with the first I/O error.
   */
  public CompletionStage<Long> run(
      DiskSource source, ImageWriter writer, ProgressListener progress) {
    return run(source, null, writer, progress);
  }

  /**
   * As {@link #run(DiskSource, ImageWriter, ProgressListener)}, recording everything outside {@code
   * used} (sorted, disjoint byte ranges; null for everything) as unallocated, unread.
   */
  public CompletionStage<Long> run(
      DiskSource source, List<Extent> used, ImageWriter writer, ProgressListener progress) {
    int par = Math.max(1, options.parallelism());
    ExecutorService cpu = Executors.newFixedThreadPool(par, daemon("imprint-create"));
    AtomicLong done = new AtomicLong();
    DiskChunks chunks = DiskChunks.forCreate(source, options.chunkSize(), used);
    long total = chunks.logicalSize();
    // Reads and compression share the cores; order is kept so the image is written front to back.
    CompletionStage<Done> finished =
        chunks
            .chunks(par, cpu)
            .mapAsync(par * 2, c -> CompletableFuture.supplyAsync(() -> pack(c, chunks), cpu))
            .withAttributes(Attributes.inputBuffer(1, 2))
            .runWith(
                Sink.<Packed>foreach(
                        pk -> {
                          append(writer, pk, chunks);
                          progress.progress(done.addAndGet(pk.length()), total);
                        })
                    .withAttributes(ActorAttributes.dispatcher(BLOCKING)),
                mat);
    return finished.handle(
        (d, err) -> {
          cpu.shutdownNow();
          if (err != null) {
            throw unwrap(err);
          }
          return done.get();
        });
  }

  private static CompletionException unwrap(Throwable err) {
    Throwable t = err;
    while ((t instanceof CompletionException || t instanceof UncheckedIOException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return new CompletionException(t);
  }

  private void append(ImageWriter writer, Packed pk, DiskChunks chunks) throws IOException {
    try {
      if (pk.kind() == RangeKind.UNALLOCATED) {
        writer.unallocated(pk.offset(), pk.length());
      } else if (pk.payload() == null) {
        writer.zero(pk.offset(), pk.length());
      } else {
        writer.data(pk.offset(), pk.length(), pk.codec(), pk.sha256(), pk.payload());
      }
    } finally {
      if (pk.pooled()) {
        stored.release(pk.payload().clear());
      }
      if (pk.chunk() != null) {
        chunks.release(pk.chunk());
      }
    }
  }

  private Packed pack(Chunk c, DiskChunks chunks) {
    if (c.kind() != RangeKind.DATA) {
      return new Packed(
          c.kind(), c.offset(), (int) c.length(), Codec.NONE, null, null, false, null);
    }
    ByteBuffer data = c.writableView();
    byte[] sha = Sha256.of(data);
    Codec codec = options.compression().codec();
    if (codec == Codec.NONE || Probe.incompressible(data)) {
      // Stored as read: no copy, and no compressor time spent on bytes that would not shrink.
      return new Packed(
          RangeKind.DATA, c.offset(), (int) c.length(), Codec.NONE, sha, data, false, c);
    }
    ByteBuffer out = stored.acquire();
    try {
      int n = codec.compress(data, out, options.compression().level());
      if (n >= data.remaining()) {
        // Incompressible after all: store it as is, which also makes it free to decode.
        stored.release(out.clear());
        return new Packed(
            RangeKind.DATA, c.offset(), (int) c.length(), Codec.NONE, sha, data, false, c);
      }
    } catch (CodecException ex) {
      stored.release(out);
      chunks.release(c);
      throw new UncheckedIOException(ex);
    }
    out.flip();
    return new Packed(RangeKind.DATA, c.offset(), (int) c.length(), codec, sha, out, true, c);
  }

  static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
