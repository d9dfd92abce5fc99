package dev.imprint.engine.multicast;

import java.util.List;

/**
 * How many parity symbols a block gets per loop: enough that a client at the loss the bulk of the
 * clients report (their 90th percentile, the single worst left out) decodes a block from one loop
 * with high probability: r such that r ≥ p(k + r) + 2·sqrt((k + r)·p·(1 - p)) + 1, within the
 * stream's bounds. A client far lossier than that finishes from later loops and repair.
 *
 * <p>p is the highest bulk loss of the last {@link #WINDOW} reports, not the last one alone: loss
 * from congestion comes in episodes (the rate probes upwards, overshoots and is cut), and the
 * groups sent between two episodes, given parity for no loss, failed in the next one (an adaptive
 * rate probes every 10-20 s). A block that fails to decode is dropped until a later loop brings its
 * symbols again: a 30 MB/s path took four loops with parity following each report.
 */
public final class ParityPolicy {
  public static final double QUANTILE = 0.9;

  /** Report intervals (about a second each) whose bulk loss the parity covers. */
  static final int WINDOW = 30;

  private final double[] recent = new double[WINDOW];
  private int reports;
  private int ignore;

  /**
   * Forgets the loss seen so far and ignores the next report: the rate has left its slow start,
   * whose overshoot (doubling past the path) says nothing about the loss at the rate now, and the
   * next report may still describe it. Kept, it held a 30 MB/s path's parity at a third for 30 s.
   */
  public synchronized void forget() {
    reports = 0;
    ignore = 1;
  }

  private final int min;
  private final int max;

  public ParityPolicy(int min, int max) {
    if (min < 0 || max < min) {
      throw new IllegalArgumentException("parity bounds 0 <= min <= max");
    }
    this.min = min;
    this.max = max;
  }

  /**
   * The parity for blocks of {@code k} given the clients' latest reports (and those of the
   * intervals before); {@code current} if there are none.
   */
  public synchronized int parity(int k, List<ClientReport> latest, int current) {
    double p = ClientReport.bulk(latest, ClientReport::loss, QUANTILE);
    if (Double.isNaN(p)) {
      return current;
    }
    if (ignore > 0) {
      ignore--;
    } else {
      recent[reports++ % WINDOW] = p;
    }
    double worst = 0;
    for (int i = 0; i < Math.min(reports, WINDOW); i++) {
      worst = Math.max(worst, recent[i]);
    }
    return parityFor(k, worst);
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
