package dev.imprint.engine.multicast;

import java.util.concurrent.locks.LockSupport;

/**
 * A token bucket: over any interval of t seconds at most {@code rate * t + burst} bytes pass. The
 * rate can change while it runs (the rate controller's); one thread acquires.
 */
public final class Pacer {
  private final long burst;
  private volatile long rate;
  private double tokens;
  private long last = System.nanoTime();

  public Pacer(long bytesPerSecond, long burstBytes) {
    if (bytesPerSecond <= 0 || burstBytes <= 0) {
      throw new IllegalArgumentException("a rate and a burst are positive");
    }
    this.rate = bytesPerSecond;
    this.burst = burstBytes;
    this.tokens = burstBytes;
  }

  public long rate() {
    return rate;
  }

  public void setRate(long bytesPerSecond) {
    if (bytesPerSecond <= 0) {
      throw new IllegalArgumentException("a rate is positive, not " + bytesPerSecond);
    }
    rate = bytesPerSecond;
  }

  /** Waits until {@code bytes} may go. */
  public void acquire(int bytes) throws InterruptedException {
    refill();
    while (tokens < bytes) {
      long wait = (long) ((bytes - tokens) * 1e9 / rate);
      LockSupport.parkNanos(Math.max(wait, 20_000));
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      refill();
    }
    tokens -= bytes;
  }

  private void refill() {
    long now = System.nanoTime();
    tokens = Math.min(burst, tokens + (now - last) * (double) rate / 1e9);
    last = now;
  }
}
