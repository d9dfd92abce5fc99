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
    // A cut to what got through keeps it close; a fixed cut to 75% averaged about 26.
    assertTrue(mean > 27 * MB && mean < 31 * MB, "settles near the path's 30 MB/s: " + mean / MB);
  }

  @Test
  void writeRatesThatFollowTheStreamDoNotHoldItDown() {
    // The path carries 30 MB/s of wire; clients write what arrives, in image bytes, counted in
    // whole 4 MiB chunks (a second holds 0 to 2 more or fewer of them than the mean). They are not
    // held back by their writing, so what they write must not cap the rate: it did, and the cap
    // fed back on itself until a 30 MB/s path ran at 6.6 MB/s.
    double wirePerByte = 1468.0 / 1416 * 112 / 100;
    RateController c = RateController.forCeiling(80 * MB, 0);
    java.util.Random rnd = new java.util.Random(7);
    long rate = 80 * MB;
    long sum = 0;
    int n = 0;
    for (int step = 0; step < 300; step++) {
      double loss = rate > 30 * MB ? 1 - 30.0 * MB / rate : 0;
      long written = (long) (Math.min(rate, 30 * MB) / wirePerByte);
      List<ClientReport> r = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        long chunks = Math.max(0, written / (4L << 20) + rnd.nextInt(3) - 1);
        r.add(new ClientReport(loss, chunks * (4L << 20), false));
      }
      rate = c.next(rate, r, wirePerByte);
      if (step >= 100) {
        sum += rate;
        n++;
      }
    }
    double mean = (double) sum / n;
    assertTrue(mean > 27 * MB, "settles near the path's 30 MB/s: " + mean / MB);
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
    List<ClientReport> held = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      held.add(new ClientReport(0, 20 * MB, true));
    }
    RateController w = RateController.forCeiling(100 * MB, 0);
    assertEquals(30 * MB, w.next(100 * MB, held), "1.5 x what the held-back bulk writes");
    // One slow disk among three does not decide: the others keep up.
    List<ClientReport> one = new ArrayList<>(clients(2, 0, 20 * MB));
    one.add(new ClientReport(0, 5 * MB, true));
    assertEquals(100 * MB, RateController.forCeiling(100 * MB, 0).next(100 * MB, one));
    // Two of three held back: the faster of them (the slowest is left out).
    List<ClientReport> two = new ArrayList<>(clients(1, 0, 20 * MB));
    two.add(new ClientReport(0, 5 * MB, true));
    two.add(new ClientReport(0, 10 * MB, true));
    assertEquals(15 * MB, RateController.forCeiling(100 * MB, 0).next(100 * MB, two));
    assertEquals(Double.POSITIVE_INFINITY, ClientReport.bulkWriteRate(List.of()));
  }

  @Test
  void slowStartDoublesFromAQuarterUntilCongestion() {
    RateController c = RateController.forCeiling(80 * MB, 0);
    assertEquals(20 * MB, c.start());
    assertEquals(40 * MB, c.next(20 * MB, clients(3, 0, 0)));
    assertEquals(40 * MB, c.next(40 * MB, List.of()), "no reports yet: no change");
    assertEquals(40 * MB, c.next(40 * MB, clients(3, 0, 0)), "every other interval");
    // 40 MB/s over a 30 MB/s path: a quarter lost; the cut goes to what got through.
    long cut = c.next(40 * MB, clients(3, 0.25, 0));
    assertEquals(40 * MB * 0.75 * 0.95, cut, 2);
    long held = c.next(cut, clients(3, 0.25, 0));
    assertEquals(cut, held, "a stale report holds");
    long grown = c.next(held, clients(3, 0, 0));
    assertEquals(held + 80 * MB / 50, grown, "28.5 is far below 40: a whole step");
    long again = c.next(grown, clients(3, 0.05, 0));
    assertEquals(grown * 0.9, again, 2);
    c.next(again, clients(3, 0.05, 0));
    assertEquals(
        again + 80 * MB / 50 / 4,
        c.next(again, clients(3, 0, 0)),
        "near the rate that met congestion: a quarter step");
    assertEquals(
        15 * MB, RateController.forCeiling(80 * MB, 60 * MB).start(), "Client Data Rate caps it");
    RateController open = RateController.forCeiling(50 * MB, 0);
    long r = open.start();
    for (int i = 0; i < 3; i++) {
      r = open.next(r, clients(3, 0, 0));
    }
    assertEquals(50 * MB, r, "12.5, 25, 25, 50");
  }

  @Test
  void aCutFollowsWhatGotThroughAndTheNextIntervalHolds() {
    RateController c = RateController.forCeiling(80 * MB, 0);
    assertEquals(80 * MB, c.next(80 * MB, clients(3, 0, 0)), "no loss: stays at the ceiling");
    // 80 MB/s over a 30 MB/s path: 62.5% lost; the cut is to 95% of what got through.
    assertEquals(80 * MB * 0.375 * 0.95, c.next(80 * MB, clients(3, 0.625, 0)), 2);
    assertEquals(28 * MB, c.next(28 * MB, clients(3, 0.625, 0)), "a stale report holds");
    assertEquals(7 * MB, c.next(28 * MB, clients(3, 0.9, 0)), "a quarter at most");
    RateController d = RateController.forCeiling(80 * MB, 0);
    assertEquals(40 * MB * 0.7 * 0.95, d.next(40 * MB, clients(3, 0.3, 0)), 2);
    long r = d.next(30 * MB, clients(3, 0.0, 0));
    assertEquals(30 * MB + 80 * MB / 50, r, "no loss: it grows by 2% of Data Rate");
    assertEquals(r * 0.9, d.next(r, clients(3, 0.04, 0)), 2, "a cut is 10% at least");
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
    // A loss episode is covered for the next reports, then forgotten.
    ParityPolicy q = new ParityPolicy(2, 50);
    assertEquals(at5, q.parity(100, clients(3, 0.05, 0), 2));
    for (int i = 1; i < ParityPolicy.WINDOW; i++) {
      assertEquals(at5, q.parity(100, clients(3, 0.0, 0), 2), "still covered after " + i);
    }
    assertEquals(2, q.parity(100, clients(3, 0.0, 0), 2), "a window later, forgotten");
    q.parity(100, clients(3, 0.3, 0), 2);
    q.forget();
    assertEquals(2, q.parity(100, clients(3, 0.3, 0), 2), "forgotten, and the next ignored");
    assertEquals(at5, q.parity(100, clients(3, 0.05, 0), 2));
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
