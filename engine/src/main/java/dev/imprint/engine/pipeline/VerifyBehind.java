package dev.imprint.engine.pipeline;

import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The read-back of one target's data chunks while later ones are still being written. Once a batch
 * of data has been written, the device is flushed (as before the final pass) and the batch's chunks
 * are read back past the page cache and compared by hash, on threads of their own: a restore that
 * is bound by decoding and hashing has the device's reads to spare, so most of the verification
 * costs no time. The final pass then reads only what this did not check: the last batch, the chunks
 * written at the end (partition tables, the table fix) and anything O_DIRECT cannot read.
 *
 * <p>A mismatch found here is the target's verification result; a read that fails is left to the
 * final pass, which reads that range again and reports it.
 */
public final class VerifyBehind {
  /** Data bytes written between two read-back batches (each begins with a flush). */
  static final long BATCH = 128L << 20;

  /** Read-backs in flight per target: each holds a piece buffer beside the writes' buffers. */
  public static final int READS = 2;

  /**
   * The most piece buffers all targets' read-backs may hold together: the write side's budget
   * assumes verification runs after it, so this memory comes on top (a restore whose targets and
   * pieces need more verifies only after writing).
   */
  public static final long MEMORY = 128L << 20;

  /** Whether reading back while writing fits {@link #MEMORY} for these targets and pieces. */
  public static boolean fits(int targets, int pieceSize) {
    return (long) targets * READS * pieceSize <= MEMORY;
  }

  private final Verifier verifier;
  private final TargetDevice device;
  private final long batchBytes;
  private final ExecutorService batches;
  private final ExecutorService readers;
  private final Map<Long, Chunk.Range> checked = new ConcurrentHashMap<>(); // by offset
  private final AtomicLong checkedBytes = new AtomicLong();
  private final List<Chunk.Range> pending = new ArrayList<>(); // guarded by this
  private long pendingBytes; // guarded by this
  private CompletableFuture<Void> running = CompletableFuture.completedFuture(null); // this
  private boolean stopped; // guarded by this
  private volatile boolean cancelled;
  private volatile Verifier.Mismatch mismatch;

  VerifyBehind(Verifier verifier, TargetDevice device, int reads, long batchBytes) {
    this.verifier = verifier;
    this.device = device;
    this.batchBytes = batchBytes;
    this.batches =
        Executors.newSingleThreadExecutor(CreatePipeline.daemon("imprint-verify-behind"));
    this.readers =
        Executors.newFixedThreadPool(
            Math.min(reads, READS), CreatePipeline.daemon("imprint-verify-behind"));
  }

  /**
   * A data chunk is on the device (its write returned). Only whole, aligned chunks are taken: they
   * are read back with O_DIRECT, so what is compared comes from the device, not from memory.
   */
  void written(Chunk.Range r) {
    if (r.kind() != RangeKind.DATA
        || r.sha256() != null
        || !device.direct()
        || r.offset() % device.alignment() != 0
        || r.length() % device.alignment() != 0
        || mismatch != null) {
      return;
    }
    List<Chunk.Range> batch;
    synchronized (this) {
      if (stopped) {
        return;
      }
      pending.add(r);
      pendingBytes += r.length();
      if (pendingBytes < batchBytes || !running.isDone()) {
        return;
      }
      batch = new ArrayList<>(pending);
      pending.clear();
      pendingBytes = 0;
      running = CompletableFuture.runAsync(() -> check(batch), batches);
    }
  }

  private void check(List<Chunk.Range> batch) {
    try {
      device.flush(); // what the final pass also reads after: the device's copy
    } catch (IOException e) {
      return; // the final pass reads these again
    }
    List<CompletableFuture<Void>> reads = new ArrayList<>(batch.size());
    for (Chunk.Range r : batch) {
      reads.add(
          CompletableFuture.runAsync(
              () -> {
                if (mismatch != null || cancelled) {
                  return;
                }
                Optional<Verifier.Mismatch> m = verifier.check(device, r);
                if (m.isPresent()) {
                  synchronized (this) {
                    if (mismatch == null) {
                      mismatch = m.get();
                    }
                  }
                } else {
                  checked.put(r.offset(), r);
                  checkedBytes.addAndGet(r.length());
                }
              },
              readers));
    }
    for (CompletableFuture<Void> f : reads) {
      try {
        f.join();
      } catch (RuntimeException e) {
        // A failed read: the final pass reads this range again and says why.
      }
    }
  }

  /**
   * No more read-back here: waits for the batch being read (the final pass and the table writes
   * come after it) and ends the threads. Chunks not yet read are left to the final pass.
   */
  public void stop() {
    stop(false);
  }

  /** As {@link #stop()}; {@code cancel}: the batch being read is abandoned, not waited for. */
  public void stop(boolean cancel) {
    if (cancel) {
      cancelled = true;
    }
    CompletableFuture<Void> last;
    synchronized (this) {
      stopped = true;
      pending.clear();
      last = running;
    }
    try {
      last.join();
    } catch (RuntimeException e) {
      // nothing was recorded for what failed
    }
    batches.shutdown();
    readers.shutdown();
  }

  /** The first difference found, if any. */
  public Optional<Verifier.Mismatch> mismatch() {
    return Optional.ofNullable(mismatch);
  }

  /** Data bytes already read back and found equal. */
  public long checkedBytes() {
    return checkedBytes.get();
  }

  /** Whether {@code r}, as the final pass would check it, was read back here and found equal. */
  boolean covers(Chunk.Range r) {
    if (r.kind() != RangeKind.DATA || r.sha256() != null) {
      return false;
    }
    Chunk.Range c = checked.get(r.offset());
    return c != null && c.length() == r.length() && c.xxh64() == r.xxh64();
  }
}
