package dev.imprint.engine.pipeline;

import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.AbstractList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
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
  /** Read-backs in flight per target, when the memory budget allows. */
  static final int READS_IN_FLIGHT = 4;

  /** Zero ranges are compared against this many zeros at a time. */
  private static final int ZEROS = 1 << 20;

  private final Materializer mat;
  private final int pieceSize;
  private final int reads;
  private final BufferPool pool;
  private final ByteBuffer zeros;

  public Verifier(Materializer mat, int pieceSize) {
    this(mat, pieceSize, MemoryBudget.ofJvm());
  }

  /**
   * Read-backs per target follow the piece size; their buffers are shared by every target verified
   * at once, as many as the budget holds.
   */
  public Verifier(Materializer mat, int pieceSize, MemoryBudget budget) {
    this.mat = mat;
    this.pieceSize = pieceSize;
    this.reads = MemoryBudget.perTarget(pieceSize, READS_IN_FLIGHT);
    this.pool = new BufferPool(pieceSize, budget.verifyBuffers(pieceSize));
    this.zeros = ByteBuffer.allocateDirect(Math.min(pieceSize, ZEROS));
  }

  /** The most read-back buffers out at once, across all targets. */
  public int buffers() {
    return pool.limit();
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
    return verify(device, ranges, progress, null);
  }

  /** A read-back of {@code device} while it is being written, for {@link #verify} to finish. */
  public VerifyBehind behind(TargetDevice device) {
    return new VerifyBehind(this, device, reads, VerifyBehind.BATCH);
  }

  /**
   * Verifies what {@code behind} (stopped; may be null) has not read back already: its mismatch, if
   * it found one, is the result.
   */
  public CompletionStage<Optional<Mismatch>> verify(
      TargetDevice device,
      List<Chunk.Range> ranges,
      ProgressListener progress,
      VerifyBehind behind) {
    if (behind != null && behind.mismatch().isPresent()) {
      return CompletableFuture.completedFuture(behind.mismatch());
    }
    long total = bytesToRead(ranges);
    AtomicLong done = new AtomicLong();
    List<Chunk.Range> toRead = ranges;
    if (behind != null) {
      long early = 0;
      for (Chunk.Range r : ranges) {
        if (behind.covers(r)) {
          early += r.length();
        }
      }
      done.set(early);
      toRead = new SkippingCovered(ranges, behind);
    }
    List<Chunk.Range> pieces = toRead;
    ExecutorService io =
        Executors.newFixedThreadPool(reads, CreatePipeline.daemon("imprint-verify"));
    try {
      device.dropCache();
    } catch (IOException e) {
      io.shutdown();
      return CompletableFuture.failedFuture(e);
    }
    return Source.fromIterator(() -> pieces(pieces))
        .mapAsync(
            reads,
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

  /** Data ranges as they are, zero ranges cut into pieces, one at a time (not a list: memory). */
  private Iterator<Chunk.Range> pieces(List<Chunk.Range> ranges) {
    Iterator<Chunk.Range> in = ranges.iterator();
    return new Iterator<>() {
      Chunk.Range zero;
      long at;
      Chunk.Range next;

      @Override
      public boolean hasNext() {
        while (next == null) {
          if (zero != null && at < zero.end()) {
            long len = Math.min(pieceSize, zero.end() - at);
            next = new Chunk.Range(at, len, RangeKind.ZERO, 0, null);
            at += len;
          } else if (!in.hasNext()) {
            return false;
          } else {
            Chunk.Range r = in.next();
            zero = null;
            if (r.kind() == RangeKind.DATA) {
              next = r;
            } else if (r.kind() == RangeKind.ZERO) {
              zero = r;
              at = r.offset();
            }
          }
        }
        return true;
      }

      @Override
      public Chunk.Range next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        Chunk.Range r = next;
        next = null;
        return r;
      }
    };
  }

  /** Reads {@code r} back (at most one piece) and compares it. */
  Optional<Mismatch> check(TargetDevice device, Chunk.Range r) {
    if (r.length() > pieceSize) {
      throw new IllegalStateException("range larger than a chunk");
    }
    if (r.kind() == RangeKind.ZERO && device.isHole(r.offset(), r.length())) {
      return Optional.empty(); // a hole in a file target reads as zeros: nothing to read
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
        for (int from = 0; from < b.limit(); from += zeros.capacity()) {
          int to = Math.min(b.limit(), from + zeros.capacity());
          long at =
              b.duplicate().position(from).limit(to).mismatch(zeros.duplicate().limit(to - from));
          if (at >= 0) {
            return Optional.of(
                new Mismatch(r.offset() + from + at, "should read as zeros but does not"));
          }
        }
        return Optional.empty();
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

  /** The ranges, with those read back already shown as unallocated (nothing to read). */
  private static final class SkippingCovered extends AbstractList<Chunk.Range> {
    private final List<Chunk.Range> all;
    private final VerifyBehind behind;

    SkippingCovered(List<Chunk.Range> all, VerifyBehind behind) {
      this.all = all;
      this.behind = behind;
    }

    @Override
    public Chunk.Range get(int i) {
      Chunk.Range r = all.get(i);
      return behind.covers(r)
          ? new Chunk.Range(r.offset(), r.length(), RangeKind.UNALLOCATED, 0, null)
          : r;
    }

    @Override
    public int size() {
      return all.size();
    }
  }

  /**
   * The ranges of an image's index, checked by SHA-256: for disks restored earlier. A view that
   * reads each entry when asked, so a large index is not copied.
   */
  public static List<Chunk.Range> rangesOf(dev.imprint.engine.image.ImageMetadata m) {
    List<dev.imprint.engine.image.IndexEntry> index = m.index();
    return new AbstractList<>() {
      @Override
      public Chunk.Range get(int i) {
        var e = index.get(i);
        return new Chunk.Range(e.logicalOffset(), e.logicalLength(), e.kind(), 0, e.sha256());
      }

      @Override
      public int size() {
        return index.size();
      }
    };
  }
}
