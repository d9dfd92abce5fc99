package dev.imprint.engine.control;

import java.time.Duration;

/**
 * How a client of a multicast server receives.
 *
 * @param unicastFallback read the image over the control channel when no multicast arrives
 * @param networkInterface the interface to join the group on (null: the system's choice)
 * @param timeout give up after this long without progress (zero: wait forever)
 * @param multicastWait how long to wait for the first datagram after joining
 * @param repairBudget stored bytes to fetch over the control channel at most, after a full loop
 */
public record ClientOptions(
    boolean unicastFallback,
    String networkInterface,
    Duration timeout,
    Duration multicastWait,
    long repairBudget) {
  public static final Duration DEFAULT_MULTICAST_WAIT = Duration.ofSeconds(5);

  /** asr's limit for out-of-band repair. */
  public static final long DEFAULT_REPAIR_BUDGET = 32L << 20;

  public static ClientOptions defaults() {
    return new ClientOptions(
        false, null, Duration.ZERO, DEFAULT_MULTICAST_WAIT, DEFAULT_REPAIR_BUDGET);
  }
}
