package dev.imprint.engine.multicast;

import java.util.List;

/**
 * Additive increase, multiplicative decrease of the send rate from what the bulk of the clients
 * report; pure logic, called once per report interval.
 *
 * <p>Loss is congestion when the bulk's loss (the 90th percentile, the single worst client left
 * out) exceeds {@code tolerance}, or exceeds by {@code margin} the lowest bulk loss seen so far
 * (what the network loses anyway, at any rate: random loss is not congestion). Congestion sets the
 * rate to what got through, a little less ({@link #BELOW_DELIVERED}), cut by at least {@code 1 -
 * decrease} and at most half, and the next interval holds it (its reports may still describe the
 * rate before the cut); otherwise it grows by {@code step}. The rate never exceeds the ceiling
 * ({@code Data Rate}), nor {@code Client Data Rate} when set, nor what the bulk can write ({@link
 * ClientReport#bulkWriteRate}, with {@link #WRITE_HEADROOM}), and never falls below {@code floor}.
 */
public final class RateController {
  public static final double QUANTILE = 0.9;

  /**
   * How far above the bulk's write rate the stream may go. Write rates are counted in whole chunks
   * (4 MiB a second at 16 MB/s is 3 or 4 of them), so the cap leaves room to grow. Only clients
   * that say their writing held them back count: a client held back by the network writes what
   * arrives, and capping the rate at that fed back on itself (a 30 MB/s path fell to 6.6 MB/s).
   */
  static final double WRITE_HEADROOM = 1.5;

  /**
   * Congestion sets the rate to this share of what got through (rate × (1 − loss)): the path's
   * capacity as the clients measured it, less a margin for the queue to drain. A fixed cut to 75%
   * left the rate a quarter below a 30 MB/s path half the time.
   */
  static final double BELOW_DELIVERED = 0.95;

  /**
   * The deepest single cut: to a quarter. A first stream at 80 MB/s over a 30 MB/s path loses 62%;
   * cutting to what got through at once spares the seconds of loss that halving twice costs.
   */
  static final double DEEPEST_CUT = 0.25;

  private final long ceiling;
  private final long clientCap;
  private final long floor;
  private final long step;
  private final double decrease;
  private final double tolerance;
  private final double margin;
  private double baseline = 1;

  /**
   * After a cut, the next interval's reports may still describe the rate before it: they hold the
   * rate rather than cut again.
   */
  private boolean justCut;

  /**
   * Slow start: the stream begins at a quarter of the ceiling and doubles every other interval
   * without congestion, until the first congestion or the ceiling. Begun at the ceiling, 80 MB/s
   * over a 30 MB/s path lost 62% of every datagram until the first reports came back, more than any
   * client's repair budget makes up, so its blocks waited for the next loop.
   */
  private boolean slowStart = true;

  private boolean doubled;

  /** The rate at which congestion was last seen (0: never): growth slows near it. */
  private long congestedAt;

  /**
   * Near the rate that last met congestion (within {@link #NEAR} of it either way) the rate grows
   * by a quarter step: the probe that finds the path's limit again then overshoots by less, and the
   * loss it costs (which every client must make up from parity) stays small.
   */
  static final double NEAR = 0.15;

  public RateController(
      long ceiling,
      long clientCap,
      long floor,
      long step,
      double decrease,
      double tolerance,
      double margin) {
    if (ceiling <= 0 || floor <= 0 || floor > ceiling || step <= 0) {
      throw new IllegalArgumentException("0 < floor <= ceiling, step > 0");
    }
    if (!(decrease > 0 && decrease < 1)) {
      throw new IllegalArgumentException("a decrease is a factor in (0, 1)");
    }
    this.ceiling = ceiling;
    this.clientCap = clientCap;
    this.floor = floor;
    this.step = step;
    this.decrease = decrease;
    this.tolerance = tolerance;
    this.margin = margin;
  }

  /** Defaults for a {@code Data Rate} ceiling: step 2% of it, cuts of 10% or more, 25% / +2%. */
  public static RateController forCeiling(long ceiling, long clientCap) {
    return new RateController(
        ceiling,
        clientCap,
        Math.max(1, Math.min(ceiling, 1_000_000L)),
        Math.max(1, ceiling / 50),
        0.9,
        0.25,
        0.02);
  }

  /** Whether the rate is still in its slow start (no congestion seen yet). */
  public boolean slowStart() {
    return slowStart;
  }

  /** The rate an adaptive stream starts at: a quarter of its cap (slow start). */
  public long start() {
    long cap = clientCap > 0 ? Math.min(ceiling, clientCap) : ceiling;
    return clamp(cap / 4, cap);
  }

  /** {@link #next(long, List, double)} for a stream without overhead (tests). */
  public long next(long current, List<ClientReport> reports) {
    return next(current, reports, 1);
  }

  /**
   * The rate for the next interval, from the current one and the clients' last reports. {@code
   * wirePerByte}: bytes the stream sends per image byte (datagram headers and parity): clients
   * report what they write in image bytes, the rate counts what goes on the wire. (Taken as equal,
   * the write-rate cap stood below the rate that fed it, and the rate shrank by a few percent an
   * interval to a fraction of the path.)
   */
  public long next(long current, List<ClientReport> reports, double wirePerByte) {
    long cap = ceiling;
    if (clientCap > 0) {
      cap = Math.min(cap, clientCap);
    }
    if (reports.isEmpty()) {
      return clamp(current, cap);
    }
    double loss = ClientReport.bulk(reports, ClientReport::loss, QUANTILE);
    double write = ClientReport.bulkWriteRate(reports);
    if (Double.isFinite(write)) {
      cap = Math.min(cap, (long) (write * wirePerByte * WRITE_HEADROOM));
    }
    boolean congested = loss > tolerance || loss > baseline + margin;
    baseline = Math.min(baseline, loss);
    long next;
    if (congested && justCut) {
      next = current;
      justCut = false;
    } else if (congested) {
      slowStart = false;
      congestedAt = current;
      next =
          (long)
              (current * Math.max(DEEPEST_CUT, Math.min(decrease, (1 - loss) * BELOW_DELIVERED)));
      justCut = true;
    } else if (slowStart) {
      // Doubles every other interval: a report shows a new rate's loss one interval later.
      doubled = !doubled;
      next = doubled ? current * 2 : current;
      slowStart = next < cap;
      justCut = false;
    } else {
      boolean near = Math.abs(current - congestedAt) <= congestedAt * NEAR;
      next = current + (near ? Math.max(1, step / 4) : step);
      justCut = false;
    }
    return clamp(next, cap);
  }

  private long clamp(long rate, long cap) {
    return Math.max(floor, Math.min(rate, Math.max(floor, cap)));
  }
}
