package dev.imprint.engine.multicast;

import java.util.List;

/**
 * How many parity symbols a block gets per loop: enough that a client at the loss the bulk of the
 * clients report (their 90th percentile, the single worst left out) decodes a block from one loop
 * with high probability: r such that r ≥ p(k + r) + 2·sqrt((k + r)·p·(1 - p)) + 1, within the
 * stream's bounds. A client far lossier than that finishes from later loops and repair.
 */
public final class ParityPolicy {
  public static final double QUANTILE = 0.9;

  private final int min;
  private final int max;

  public ParityPolicy(int min, int max) {
    if (min < 0 || max < min) {
      throw new IllegalArgumentException("parity bounds 0 <= min <= max");
    }
    this.min = min;
    this.max = max;
  }

  /** The parity for blocks of {@code k} given the clients' reports; {@code current} if none. */
  public int parity(int k, List<ClientReport> reports, int current) {
    double p = ClientReport.bulk(reports, ClientReport::loss, QUANTILE);
    if (Double.isNaN(p)) {
      return current;
    }
    return parityFor(k, p);
  }

  /** The parity for blocks of {@code k} at loss {@code p}. */
  public int parityFor(int k, double p) {
    for (int r = min; r < max; r++) {
      double n = k + r;
      if (r >= p * n + 2 * Math.sqrt(n * p * (1 - p)) + 1) {
        return r;
      }
    }
    return max;
  }
}
