package dev.imprint.engine.multicast;

import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * What a client last said about its reception, as the sender's controllers use it.
 *
 * @param loss fraction of datagrams it lost over its last report interval (0..1)
 * @param writeRate bytes per second it wrote over that interval, or 0 when unknown
 * @param writeBound whether its writing (or decoding) held its reception back over that interval:
 *     only then is its write rate all it can take; otherwise it writes what arrives
 */
public record ClientReport(double loss, long writeRate, boolean writeBound) {
  public ClientReport {
    if (!(loss >= 0 && loss <= 1) || writeRate < 0) {
      throw new IllegalArgumentException("a loss is 0..1 and a write rate >= 0");
    }
  }

  /** A client that keeps up with what arrives. */
  public ClientReport(double loss, long writeRate) {
    this(loss, writeRate, false);
  }

  /**
   * What the bulk of the clients can write, bytes a second: the median of what each can take (the
   * write rate of a client its writing held back, unbounded for one that keeps up), leaving out the
   * single slowest when there are at least two, so one slow disk never decides. Infinite when the
   * bulk keeps up.
   */
  public static double bulkWriteRate(List<ClientReport> reports) {
    double[] v =
        reports.stream()
            .mapToDouble(
                r -> r.writeBound() && r.writeRate() > 0 ? r.writeRate() : Double.POSITIVE_INFINITY)
            .sorted()
            .toArray();
    if (v.length == 0) {
      return Double.POSITIVE_INFINITY;
    }
    int from = v.length >= 2 ? 1 : 0;
    int n = v.length - from;
    return v[from + (int) Math.ceil(0.5 * n) - 1];
  }

  /**
   * The value the bulk of the clients see: the {@code q}-quantile (nearest rank) of {@code value}
   * over the reports, leaving out the single highest one when there are at least two, so one
   * outlier never decides. NaN when there are no reports.
   */
  public static double bulk(
      List<ClientReport> reports, ToDoubleFunction<ClientReport> value, double q) {
    double[] v = reports.stream().mapToDouble(value).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    int n = v.length >= 2 ? v.length - 1 : 1;
    int rank = (int) Math.ceil(q * n) - 1;
    return Arrays.copyOf(v, n)[Math.max(0, Math.min(n - 1, rank))];
  }
}
