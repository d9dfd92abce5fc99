package dev.imprint.engine.pipeline;

import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Reads a target back past the page cache and compares it with what should be there: data by hash
 * (xxHash64 of the bytes written, or the image's SHA-256 for a disk restored earlier), zero ranges
 * by content. Never re-reads the source.
 */
public final class Verifier {
  /** Read-backs in flight per target. */
  static final int READS_IN_FLIGHT = 4;

  private final Materializer mat;
  private final int pieceSize;
  private final BufferPool pool;
  private final ByteBuffer zeros;

  public Verifier(Materializer mat, int pieceSize) {
    this.mat = mat;
    this.pieceSize = pieceSize;
    this.pool = new BufferPool(pieceSize);
    this.zeros = ByteBuffer.allocateDirect(pieceSize);
  }

  /** The first place a target differs from the image. */
  public record Mismatch(long offset, String what) {}

  /** Total bytes a verification reads, for progress. */
  public static long bytesToRead(List<Chunk.Range> ranges) {
    long n = 0;
    for (Chunk.Range r : ranges) {
      if (r.kind() != RangeKind.UNALLOCATED) {
        n += r.length();
      }
    }
    return n;
  }

  public CompletionStage<Optional<Mismatch>> verify(
      TargetDevice device, List<Chunk.Range> ranges, ProgressListener progress) {
    List<Chunk.Range> pieces = new ArrayList<>();
    for (Chunk.Range r : ranges) {
      if (r.kind() == RangeKind.DATA) {
        pieces.add(r);
      } else if (r.kind() == RangeKind.ZERO) {
        for (long o = r.offset(); o < r.end(); o += pieceSize) {
          pieces.add(new Chunk.Range(o, Math.min(pieceSize, r.end() - o), RangeKind.ZERO, 0, null));
        }
      }
    }
    long total = bytesToRead(ranges);
    AtomicLong done = new AtomicLong();
    ExecutorService io =
        Executors.newFixedThreadPool(READS_IN_FLIGHT, CreatePipeline.daemon("imprint-verify"));
    try {
      device.dropCache();
    } catch (IOException e) {
      io.shutdown();
      return CompletableFuture.failedFuture(e);
    }
    return Source.from(pieces)
        .mapAsync(
            READS_IN_FLIGHT,
            r ->
                CompletableFuture.supplyAsync(
                    () -> {
                      Optional<Mismatch> m = check(device, r);
                      progress.progress(done.addAndGet(r.length()), total);
                      return m;
                    },
                    io))
        .filter(Optional::isPresent)
        .runWith(Sink.headOption(), mat)
        .thenApply(o -> o.flatMap(x -> x))
        .whenComplete((r, e) -> io.shutdown());
  }

  private Optional<Mismatch> check(TargetDevice device, Chunk.Range r) {
    if (r.length() > pieceSize) {
      throw new IllegalStateException("range larger than a chunk");
    }
    ByteBuffer b = pool.acquire();
    try {
      b.limit((int) r.length());
      int got;
      try {
        got = device.read(b, r.offset());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (got < r.length()) {
        return Optional.of(new Mismatch(r.offset() + got, "the target ends before the image"));
      }
      b.flip();
      if (r.kind() == RangeKind.ZERO) {
        long at = b.mismatch(zeros.duplicate().limit(b.remaining()));
        return at < 0
            ? Optional.empty()
            : Optional.of(new Mismatch(r.offset() + at, "should read as zeros but does not"));
      }
      boolean same =
          r.sha256() != null
              ? MessageDigest.isEqual(Sha256.of(b), r.sha256())
              : Xxh64.of(b) == r.xxh64();
      return same
          ? Optional.empty()
          : Optional.of(
              new Mismatch(
                  r.offset(),
                  "the chunk of bytes "
                      + r.offset()
                      + "-"
                      + (r.end() - 1)
                      + " differs from the image"));
    } finally {
      pool.release(b);
    }
  }

  /** The ranges of an image's index, checked by SHA-256: for disks restored earlier. */
  public static List<Chunk.Range> rangesOf(dev.imprint.engine.image.ImageMetadata m) {
    List<Chunk.Range> out = new ArrayList<>();
    for (var e : m.index()) {
      out.add(new Chunk.Range(e.logicalOffset(), e.logicalLength(), e.kind(), 0, e.sha256()));
    }
    return out;
  }
}
