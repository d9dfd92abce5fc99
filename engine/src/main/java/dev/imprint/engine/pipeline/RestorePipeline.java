package dev.imprint.engine.pipeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.Done;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Broadcast;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One read of the source, decoded in parallel, fanned out to every target with backpressure: {@code
 * chunks -> hold back table regions -> broadcast -> per target: positional writes on its own
 * threads}. Then each target flushes and receives the held chunks last.
 */
public final class RestorePipeline {
  private final Materializer mat;
  private final RestoreOptions options;

  public RestorePipeline(Materializer mat, RestoreOptions options) {
    this.mat = mat;
    this.options = options;
  }

  /** What was written: every range, for verification, and the logical size seen. */
  public record Written(List<Chunk.Range> ranges, long logicalSize) {}

  /**
   * A running restore: {@code written} completes when every target is finished; {@code abort} stops
   * reading the source at once (cancellation), failing every target before its held chunks.
   *
   * @param chunksRead chunks taken from the source so far (what a stop saves is measured by it)
   */
  public record Running(
      CompletionStage<Written> written,
      java.util.function.Consumer<Throwable> abort,
      java.util.function.LongSupplier chunksRead) {}

  /** Why a restore stopped reading: every target had failed, so nobody was listening. */
  public static final class NobodyListening extends IOException {
    NobodyListening() {
      super("every target failed: stopped reading the source");
    }
  }

  /**
   * Writes the supply to every target that has not failed. Completes with what was written, or
   * fails if the source failed (then no target got its held chunks and each is marked failed).
   */
  public CompletionStage<Written> write(ChunkSupply supply, List<TargetWriter> targets) {
    return start(supply, targets).written();
  }

  /** Starts writing, as {@link #write}, with a handle to stop it. */
  public Running start(ChunkSupply supply, List<TargetWriter> targets) {
    try {
      // The job checks this before anything is erased; here it guards every other caller.
      MemoryBudget.checkRestore(supply.chunkSize(), options.heldRegion());
    } catch (IOException e) {
      targets.forEach(t -> t.fail(e));
      return new Running(CompletableFuture.failedFuture(e), x -> {}, () -> 0);
    }
    // Buffer counts from the memory budget: 64 MiB chunks to many targets keep fewer in flight.
    MemoryBudget.RestorePlan plan =
        MemoryBudget.ofJvm()
            .restore(
                supply.chunkSize(),
                targets.size(),
                options.parallelism(),
                TargetWriter.WRITES_IN_FLIGHT,
                MemoryBudget.heldChunks(options.heldRegion(), supply.chunkSize()));
    supply.limitBuffers(plan.buffers());
    int par = plan.decode();
    ExecutorService cpu =
        Executors.newFixedThreadPool(par, CreatePipeline.daemon("imprint-decode"));
    long size = supply.logicalSize();
    long hold = options.heldRegion();
    List<Chunk> held = Collections.synchronizedList(new ArrayList<>());
    RangeList ranges = new RangeList();
    int n = targets.size();
    long[] seenEnd = {0};
    java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();

    Source<Chunk, org.apache.pekko.japi.Pair<UniqueKillSwitch, CompletionStage<Done>>> chunks =
        supply
            .chunks(par, cpu)
            .viaMat(KillSwitches.single(), Keep.right())
            .map(
                c -> {
                  read.incrementAndGet();
                  if (everyTargetFailed(targets)) {
                    // The kill switch of last resort: nobody is listening, stop reading at once.
                    c.release();
                    throw new NobodyListening();
                  }
                  return c;
                })
            .filter(
                c -> {
                  ranges.add(c.range());
                  synchronized (seenEnd) {
                    seenEnd[0] = Math.max(seenEnd[0], c.end());
                  }
                  boolean atStart = c.offset() < hold;
                  boolean atEnd = size > 0 && c.end() > size - hold;
                  if (atStart || atEnd) {
                    held.add(c);
                    return false;
                  }
                  if (n > 1) {
                    c.retain(n - 1);
                  }
                  return true;
                })
            .watchTermination(Keep.both())
            .withAttributes(Attributes.inputBuffer(1, 2));

    List<Sink<Chunk, CompletionStage<Done>>> sinks = new ArrayList<>();
    for (TargetWriter t : targets) {
      sinks.add(
          Flow.<Chunk>create()
              .mapAsyncUnordered(plan.writesPerTarget(), t::write)
              .toMat(Sink.ignore(), Keep.right())
              .withAttributes(Attributes.inputBuffer(2, 2)));
    }
    CompletionStage<Done> upstream;
    CompletionStage<?> allWritten;
    UniqueKillSwitch kill;
    if (n == 1) {
      var pair = chunks.toMat(sinks.get(0), Keep.both()).run(mat);
      kill = pair.first().first();
      upstream = pair.first().second();
      allWritten = pair.second();
    } else {
      Sink<Chunk, List<CompletionStage<Done>>> fanOut =
          Sink.combine(sinks, k -> Broadcast.<Chunk>create(k, false));
      var pair = chunks.toMat(fanOut, Keep.both()).run(mat);
      kill = pair.first().first();
      upstream = pair.first().second();
      allWritten =
          CompletableFuture.allOf(
              pair.second().stream()
                  .map(s -> s.toCompletableFuture().exceptionally(e -> Done.getInstance()))
                  .toArray(CompletableFuture[]::new));
    }
    CompletableFuture<Written> result = new CompletableFuture<>();
    upstream
        .handle((d, e) -> e)
        .thenCompose(srcErr -> allWritten.handle((d, e) -> srcErr))
        .whenComplete(
            (srcErr, y) -> {
              cpu.shutdown();
              Throwable err = srcErr;
              if (err != null) {
                IOException io = asIo(err);
                for (TargetWriter t : targets) {
                  t.fail(io);
                }
                releaseAll(held);
                result.completeExceptionally(io);
                return;
              }
              // Everything else is on every target: now the chunks that make a disk look valid.
              List<CompletableFuture<Void>> finishing = new ArrayList<>();
              List<Chunk> sortedHeld = new ArrayList<>(held);
              sortedHeld.sort((a, b) -> Long.compare(a.offset(), b.offset()));
              byte[] head = options.tableFix() == null ? null : head(sortedHeld);
              for (TargetWriter t : targets) {
                finishing.add(
                    CompletableFuture.runAsync(
                        () -> {
                          try {
                            t.settleLength(size >= 0 ? size : seenEnd[0]);
                            t.finish(sortedHeld, head, options.tableFix(), size);
                          } catch (IOException e) {
                            t.fail(e);
                          }
                        }));
              }
              CompletableFuture.allOf(finishing.toArray(CompletableFuture[]::new))
                  .whenComplete(
                      (v, e) -> {
                        releaseAll(held);
                        ranges.sort();
                        result.complete(new Written(ranges, size >= 0 ? size : seenEnd[0]));
                      });
            });
    return new Running(result, kill::abort, read::get);
  }

  private static boolean everyTargetFailed(List<TargetWriter> targets) {
    for (TargetWriter t : targets) {
      if (!t.failed()) {
        return false;
      }
    }
    return true;
  }

  /** The image's first held bytes: where a partition table lives. */
  private byte[] head(List<Chunk> held) {
    byte[] head = new byte[(int) Math.min(options.heldRegion(), Integer.MAX_VALUE - 8)];
    for (Chunk c : held) {
      if (c.kind() == dev.imprint.engine.image.RangeKind.DATA && c.offset() < head.length) {
        java.nio.ByteBuffer v = c.view();
        int n = (int) Math.min(v.remaining(), head.length - c.offset());
        v.get(head, (int) c.offset(), n);
      }
    }
    return head;
  }

  private static void releaseAll(List<Chunk> held) {
    for (Chunk c : held) {
      c.release();
    }
  }

  /** The I/O failure inside a future's or a stream's wrapping. */
  public static IOException asIo(Throwable err) {
    Throwable t = err;
    while ((t instanceof CompletionException || t instanceof UncheckedIOException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof IOException io) {
      return io;
    }
    return new IOException(String.valueOf(t.getMessage()), t);
  }
}
