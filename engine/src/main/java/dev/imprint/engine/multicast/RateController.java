package dev.imprint.engine.multicast;

import java.util.List;

/**
 * Additive increase, multiplicative decrease of the send rate from what the bulk of the clients
 * report; pure logic, called once per report interval.
 *
 * <p>Loss is congestion when the bulk's loss (the 90th percentile, the single worst client left
 * out) exceeds {@code tolerance}, or exceeds by {@code margin} the lowest bulk loss seen so far
 * (what the network loses anyway, at any rate: random loss is not congestion). Congestion
 * multiplies the rate by {@code decrease}; otherwise it grows by {@code step}. The rate never
 * exceeds the ceiling ({@code Data Rate}), nor {@code Client Data Rate} when set, nor what the bulk
 * can write (the median write rate, with {@link #WRITE_HEADROOM}), and never falls below {@code
 * floor}.
 */
public final class RateController {
  public static final double QUANTILE = 0.9;

  /**
   * How far above the bulk's write rate the stream may go. A client held back by the network
   * reports what arrives, counted in whole chunks (4 MiB a second at 16 MB/s is 3 or 4 of them), so
   * the cap must leave room to grow: at 10% the rate stalled at half a 30 MB/s path. A client that
   * truly cannot write faster drops what it cannot take, which is loss, and the rate falls.
   */
  static final double WRITE_HEADROOM = 1.5;

  private final long ceiling;
  private final long clientCap;
  private final long floor;
  private final long step;
  private final double decrease;
  private final double tolerance;
  private final double margin;
  private double baseline = 1;

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

  /** Defaults for a {@code Data Rate} ceiling: step 2% of it, decrease to 0.75, 25% / +3%. */
  public static RateController forCeiling(long ceiling, long clientCap) {
    return new RateController(
        ceiling,
        clientCap,
        Math.max(1, Math.min(ceiling, 1_000_000L)),
        Math.max(1, ceiling / 50),
        0.75,
        0.25,
        0.03);
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
    double write =
        ClientReport.bulk(
            reports.stream().filter(r -> r.writeRate() > 0).toList(), ClientReport::writeRate, 0.5);
    if (!Double.isNaN(write)) {
      cap = Math.min(cap, (long) (write * wirePerByte * WRITE_HEADROOM));
    }
    boolean congested = loss > tolerance || loss > baseline + margin;
    baseline = Math.min(baseline, loss);
    long next = congested ? (long) (current * decrease) : current + step;
    return clamp(next, cap);
  }

  private long clamp(long rate, long cap) {
    return Math.max(floor, Math.min(rate, Math.max(floor, cap)));
  }
}
