package dev.imprint.engine.filecopy;

import java.util.concurrent.atomic.AtomicLong;

/** Counters a front end polls: bytes and items, of the copy and then of the verification. */
public final class FileCopyProgress {
  /** Which pass the counters are about. */
  public enum Phase {
    SCANNING,
    COPYING,
    VERIFYING
  }

  final AtomicLong bytes = new AtomicLong();
  final AtomicLong items = new AtomicLong();
  volatile long totalBytes;
  volatile long totalItems;
  volatile Phase phase = Phase.SCANNING;
  volatile boolean counted;

  /** Whether the totals are known (they are counted while the copy runs). */
  public boolean counted() {
    return counted;
  }

  public Phase phase() {
    return phase;
  }

  public long bytes() {
    return bytes.get();
  }

  public long items() {
    return items.get();
  }

  /** Bytes of regular-file data in the source (as counted before the copy). */
  public long totalBytes() {
    return totalBytes;
  }

  public long totalItems() {
    return totalItems;
  }

  void start(Phase p) {
    bytes.set(0);
    items.set(0);
    phase = p;
  }
}
