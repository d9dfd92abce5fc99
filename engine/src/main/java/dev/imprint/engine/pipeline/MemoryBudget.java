package dev.imprint.engine.pipeline;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;

/**
 * The direct memory that chunk buffers may take, and the buffer counts that follow from it for a
 * chunk size: with 4 MiB chunks a restore keeps its full parallelism, with 64 MiB chunks and many
 * targets it keeps fewer chunks in flight instead of running out of memory.
 *
 * @param bytes direct memory for chunk buffers
 */
public record MemoryBudget(long bytes) {
  /**
   * The share of the JVM's direct memory limit for chunk buffers; the rest is for I/O libraries.
   */
  static final double SHARE = 0.75;

  /** Verification never needs more read-backs than this in flight, across all targets. */
  static final int MAX_VERIFY_BUFFERS = 64;

  /**
   * Bytes in flight per target that keep a disk busy (4 writes of 4 MiB chunks, and more than
   * enough with larger ones): more chunks in flight only cost memory.
   */
  static final long PER_TARGET = 32 << 20;

  /** Counts for one restore. */
  public record RestorePlan(int decode, int writesPerTarget, int buffers) {}

  /** The budget of this JVM: a share of -XX:MaxDirectMemorySize (by default, of -Xmx). */
  public static MemoryBudget ofJvm() {
    return new MemoryBudget((long) (maxDirectMemory() * SHARE));
  }

  static long maxDirectMemory() {
    try {
      HotSpotDiagnosticMXBean vm =
          ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      long set = Long.parseLong(vm.getVMOption("MaxDirectMemorySize").getValue());
      if (set > 0) {
        return set;
      }
    } catch (RuntimeException e) {
      // Not HotSpot: the JDK's default applies.
    }
    return Runtime.getRuntime().maxMemory();
  }

  /**
   * Direct memory a restore needs at the least, whatever the number of targets: the held chunks,
   * one chunk decoding and its stored bytes, one on its way to the targets.
   */
  public static long minimumFor(int chunkSize, long hold) {
    return (heldChunks(hold, chunkSize) + 3L) * chunkSize;
  }

  /** Refuses a chunk size this JVM cannot restore, in one line that says what to do. */
  public static void checkRestore(int chunkSize, long hold) throws IOException {
    long need = minimumFor(chunkSize, hold);
    long have = maxDirectMemory();
    if (need > have) {
      throw new IOException(
          "chunks of "
              + mib(chunkSize)
              + " need at least "
              + mib(need)
              + " of direct memory but this JVM allows "
              + mib(have)
              + ": raise -XX:MaxDirectMemorySize (IMPRINT_JAVA_OPTS)");
    }
  }

  private static String mib(long bytes) {
    return bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB";
  }

  /** How many chunk buffers of {@code size} bytes fit. */
  public long buffersOf(long size) {
    return bytes / Math.max(1, size);
  }

  /**
   * Chunks a restore holds back until the end (those overlapping the first and last {@code hold}
   * bytes), at most.
   */
  public static int heldChunks(long hold, int chunkSize) {
    return (int) (2 * ((hold + chunkSize - 1) / chunkSize + 1));
  }

  /**
   * Decode parallelism and writes in flight per target for a restore, and the most decoded chunks
   * out at once. A restore has at most: per decode slot a decoded chunk and its stored bytes, one
   * chunk in the fan-out, per target its writes in flight (targets share chunks, but one may lag),
   * and the held chunks. Writes in flight shrink first, then decode slots, down to one each; the
   * decoded chunks are then capped so that even many targets stay within the budget (the decoder
   * waits for a release; it never waits on the held chunks alone).
   */
  public RestorePlan restore(
      int chunkSize, int targets, int wantedDecode, int wantedWrites, int heldChunks) {
    long fit = buffersOf(chunkSize);
    int n = Math.max(1, targets);
    int p = Math.max(1, wantedDecode);
    int w = perTarget(chunkSize, wantedWrites);
    while (cost(p, w, n, heldChunks) > fit && (p > 1 || w > 1)) {
      if (w > 1 && (long) n * w >= p) {
        w--;
      } else {
        p--;
      }
    }
    long cap = Math.min(fit - p, cost(p, w, n, heldChunks) - p);
    cap = Math.max(cap, heldChunks + p + 1L);
    return new RestorePlan(p, w, (int) Math.min(Integer.MAX_VALUE, cap));
  }

  private static long cost(int p, int w, int targets, int held) {
    return 2L * p + 1 + (long) targets * w + held;
  }

  /** In flight per target: {@code wanted}, or fewer when chunks are large (at least one). */
  public static int perTarget(int chunkSize, int wanted) {
    return (int) Math.max(1, Math.min(wanted, PER_TARGET / Math.max(1, chunkSize)));
  }

  /** Read-back buffers of {@code pieceSize} bytes in flight across all targets (at least one). */
  public int verifyBuffers(int pieceSize) {
    return (int) Math.max(1, Math.min(MAX_VERIFY_BUFFERS, buffersOf(pieceSize)));
  }
}
