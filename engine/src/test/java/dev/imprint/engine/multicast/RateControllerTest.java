package dev.imprint.engine.multicast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** AIMD and parity from the bulk of the clients, never from one outlier. */
class RateControllerTest {
  static final long MB = 1_000_000;

  static List<ClientReport> clients(int n, double loss, long write) {
    List<ClientReport> r = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      r.add(new ClientReport(loss, write));
    }
    return r;
  }

  @Test
  void bulkLeavesOutTheSingleWorst() {
    List<ClientReport> r = clients(9, 0.05, 0);
    r.add(new ClientReport(0.9, 0));
    assertEquals(0.05, ClientReport.bulk(r, ClientReport::loss, 0.9), 1e-9);
    assertEquals(
        0.3, ClientReport.bulk(List.of(new ClientReport(0.3, 0)), ClientReport::loss, 0.9));
    assertEquals(
        0.1,
        ClientReport.bulk(
            List.of(new ClientReport(0.1, 0), new ClientReport(0.8, 0)), ClientReport::loss, 0.9));
    assertTrue(Double.isNaN(ClientReport.bulk(List.of(), ClientReport::loss, 0.9)));
  }

  @Test
  void rateFallsUnderCongestionAndSettlesBelowThePath() {
    // A path that carries 30 MB/s: above it, the excess is lost by every client.
    RateController c = RateController.forCeiling(80 * MB, 0);
    long rate = 80 * MB;
    long sum = 0;
    int n = 0;
    for (int step = 0; step < 300; step++) {
      double loss = rate > 30 * MB ? 1 - 30.0 * MB / rate : 0;
      rate = c.next(rate, clients(3, loss, 0));
      assertTrue(rate <= 80 * MB, "never above Data Rate");
      if (step >= 100) {
        sum += rate;
        n++;
      }
    }
    double mean = (double) sum / n;
    assertTrue(mean > 22 * MB && mean < 32 * MB, "settles near the path's 30 MB/s: " + mean / MB);
  }

  @Test
  void writeRatesThatFollowTheStreamDoNotHoldItDown() {
    // The path carries 30 MB/s of wire; clients write what arrives, in image bytes: the wire
    // carries 1.16 bytes per image byte (headers, 12% parity). The rate must settle near the path,
    // not shrink under a write-rate cap counted in the wrong bytes.
    double wirePerByte = 1468.0 / 1416 * 112 / 100;
    RateController c = RateController.forCeiling(80 * MB, 0);
    long rate = 80 * MB;
    long sum = 0;
    int n = 0;
    for (int step = 0; step < 300; step++) {
      double loss = rate > 30 * MB ? 1 - 30.0 * MB / rate : 0;
      long written = (long) (Math.min(rate, 30 * MB) / wirePerByte);
      rate = c.next(rate, clients(3, loss, written), wirePerByte);
      if (step >= 100) {
        sum += rate;
        n++;
      }
    }
    double mean = (double) sum / n;
    assertTrue(mean > 22 * MB, "settles near the path's 30 MB/s: " + mean / MB);
  }

  @Test
  void randomLossIsNotCongestion() {
    RateController c = RateController.forCeiling(50 * MB, 0);
    long rate = 20 * MB;
    for (int step = 0; step < 100; step++) {
      rate = c.next(rate, clients(5, 0.05 + (step % 3) * 0.005, 0));
    }
    assertEquals(50 * MB, rate, "a steady 5% loss lets the rate climb to the ceiling");
  }

  @Test
  void oneLossyClientDoesNotSlowTheOthers() {
    RateController c = RateController.forCeiling(50 * MB, 0);
    long rate = 40 * MB;
    for (int step = 0; step < 50; step++) {
      List<ClientReport> r = clients(4, 0.0, 0);
      r.add(new ClientReport(0.6, 0));
      rate = c.next(rate, r);
    }
    assertEquals(50 * MB, rate);
  }

  @Test
  void capsAtClientDataRateAndWhatTheBulkWrites() {
    RateController c = RateController.forCeiling(100 * MB, 60 * MB);
    assertEquals(60 * MB, c.next(100 * MB, List.of()));
    RateController w = RateController.forCeiling(100 * MB, 0);
    long rate = w.next(100 * MB, clients(3, 0, 20 * MB));
    assertEquals(30 * MB, rate, "1.5 x the median write rate");
  }

  @Test
  void parityFollowsTheBulkLossWithinBounds() {
    ParityPolicy p = new ParityPolicy(2, 50);
    assertEquals(2, p.parityFor(100, 0.0));
    int at5 = p.parityFor(100, 0.05);
    assertTrue(at5 >= 10 && at5 <= 14, "about 12 for 5% at k=100: " + at5);
    assertTrue(p.parityFor(100, 0.10) > at5);
    assertEquals(50, p.parityFor(100, 0.6), "bounded");
    List<ClientReport> r = clients(20, 0.05, 0);
    r.add(new ClientReport(0.5, 0));
    assertEquals(at5, p.parity(100, r, 7), "the one lossy client does not raise parity");
    assertEquals(7, p.parity(100, List.of(), 7), "no reports, no change");
  }

  @Test
  void pacerNeverExceedsItsRate() throws Exception {
    Pacer p = new Pacer(10 * MB, 64 * 1452);
    long t0 = System.nanoTime();
    long bytes = 0;
    while (bytes < 5 * MB) {
      p.acquire(1452);
      bytes += 1452;
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    assertTrue(bytes <= 10 * MB * secs + 64 * 1452, bytes + " bytes in " + secs + " s");
    assertTrue(secs >= 0.45, "5 MB at 10 MB/s take about half a second: " + secs);
  }
}
