package dev.imprint.engine.multicast;

import dev.imprint.engine.image.Image;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * The scale simulation of issue 12: one carousel, driven by the real encoder, MAC and layout, to
 * many simulated clients with independent loss, in process. Every client's reception is counted per
 * block (a block decodes once it has k distinct symbols: the MDS property ReedSolomonTest checks);
 * the first few clients of each kind also run the real {@link Reception} (MAC check, erasure
 * decoding, SHA-256 per chunk) on the very datagrams they receive, and must agree with the count
 * and end byte-exact. After the first full loop each client's repair is what it still lacks (k −
 * symbols held, per undecoded block), fetched out of band; the carousel also runs on until every
 * client completes without repair, to report the loops each needs.
 *
 * <p>Time is counted in wire bytes: W is the stored image at the data rate; a loop takes (1 + r/k)
 * · (S + 52)/S · W.
 */
public final class FecSimulation {
  /** How one run is set up. */
  record Setup(
      int imageBytes,
      int randomClients,
      double randomLoss,
      int burstyClients,
      double burstyLoss,
      double burstLength,
      int realClients,
      int maxLoops,
      boolean fec,
      long seed) {}

  /** What each kind of client needed. */
  record Outcome(
      String kind,
      int clients,
      double firstLoopW,
      long repairMax,
      double repairMean,
      int loopsMax,
      double loopsMean,
      double doneMaxW,
      int unfinished) {
    @Override
    public String toString() {
      return String.format(
          "%-22s clients %5d  done after loop 1 + repair at %.3f W; repair mean %.1f KB, max %.1f"
              + " KB; without repair: loops mean %.2f, max %d, last done at %.2f W%s",
          kind,
          clients,
          firstLoopW,
          repairMean / 1e3,
          repairMax / 1e3,
          loopsMean,
          loopsMax,
          doneMaxW,
          unfinished > 0 ? " (" + unfinished + " unfinished after the loops run)" : "");
    }
  }

  /** A client's loss: independent per datagram, or bursts (a two-state Gilbert model). */
  private static final class Client {
    final double loss;
    final double enterBurst;
    final double leaveBurst;
    boolean inBurst;
    long rng;
    final short[] count;
    final long[] seen;
    int blocksLeft;
    long doneAt = -1;
    int loopsNeeded = -1;
    long repairBytes;
    int real = -1;

    Client(double loss, double burstLength, int blocks, long seed) {
      this.loss = loss;
      if (burstLength > 1) {
        leaveBurst = 1 / burstLength;
        enterBurst = loss * leaveBurst / (1 - loss);
      } else {
        leaveBurst = 0;
        enterBurst = 0;
      }
      this.rng = seed * 0x9E3779B97F4A7C15L + 1;
      this.count = new short[blocks];
      this.seen = new long[blocks * 4];
      this.blocksLeft = blocks;
    }

    double next() {
      rng ^= rng << 13;
      rng ^= rng >>> 7;
      rng ^= rng << 17;
      return (rng >>> 11) * 0x1.0p-53;
    }

    boolean receives() {
      if (leaveBurst == 0) {
        return next() >= loss;
      }
      inBurst = inBurst ? next() >= leaveBurst : next() < enterBurst;
      return !inBurst;
    }
  }

  public static void main(String[] args) throws Exception {
    int clients = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int mib = args.length > 1 ? Integer.parseInt(args[1]) : 16;
    Path dir = Files.createTempDirectory("imprint-fecsim");
    try {
      long t0 = System.nanoTime();
      Setup s = new Setup(mib << 20, clients, 0.05, 10, 0.20, 10, 4, 8, true, 1);
      List<Outcome> fec = run(s, dir);
      double secs = (System.nanoTime() - t0) / 1e9;
      System.out.printf(
          "FEC carousel (k=%d, S=%d, interleave %d), %d MiB stored, %d + %d clients, %.1f s:%n",
          StreamParams.DEFAULT.blockSymbols(),
          StreamParams.DEFAULT.symbolSize(),
          StreamParams.DEFAULT.interleave(),
          mib,
          clients,
          s.burstyClients(),
          secs);
      fec.forEach(o -> System.out.println("  " + o));
      List<Outcome> plain = run(new Setup(mib << 20, clients, 0.05, 0, 0, 0, 0, 12, false, 2), dir);
      List<Outcome> one = run(new Setup(mib << 20, 1, 0.05, 0, 0, 0, 0, 12, false, 3), dir);
      System.out.println("Plain carousel, no FEC, 5% loss:");
      System.out.println("  1 client: last done at " + fmt(one.get(0).doneMaxW()) + " W");
      System.out.println(
          "  " + clients + " clients: last done at " + fmt(plain.get(0).doneMaxW()) + " W");
      Outcome r = fec.get(0);
      boolean met = r.firstLoopW() <= 1.2 && r.repairMax() <= 1_000_000;
      System.out.printf(
          "goal: done within 1.2 W + repair, repair <= 1 MB per client at 5%%: %s (%.3f W, max"
              + " %.1f KB)%n",
          met ? "met" : "NOT met", r.firstLoopW(), r.repairMax() / 1e3);
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.delete(p);
        }
      }
      Files.delete(dir);
    }
  }

  private static String fmt(double w) {
    return String.format("%.2f", w);
  }

  static List<Outcome> run(Setup s, Path dir) throws Exception {
    byte[] disk = StreamImages.random(s.imageBytes(), s.seed());
    int chunk = 1 << 20;
    Path file = StreamImages.write(dir.resolve("sim-" + s.seed() + ".imprint"), disk, chunk);
    try (Image image = StreamImages.open(file)) {
      return run(s, image, disk, Files.readAllBytes(file));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static List<Outcome> run(Setup s, Image image, byte[] disk, byte[] file)
      throws Exception {
    StreamParams params = StreamParams.DEFAULT;
    StreamLayout layout = StreamLayout.of(image.metadata().index(), params);
    SessionKeys keys = SessionKeys.generate(image.metadata().digest());
    int blocks = layout.blocks();
    List<Client> all = new ArrayList<>();
    for (int i = 0; i < s.randomClients(); i++) {
      all.add(new Client(s.randomLoss(), 0, blocks, s.seed() * 1_000_003 + i));
    }
    for (int i = 0; i < s.burstyClients(); i++) {
      all.add(new Client(s.burstyLoss(), s.burstLength(), blocks, s.seed() * 7_000_003 + i));
    }
    // The parity the policy picks from the clients' reports (the bulk's 90th percentile).
    List<ClientReport> reports = new ArrayList<>();
    for (Client c : all) {
      reports.add(new ClientReport(c.loss, 0));
    }
    int parity =
        s.fec()
            ? new ParityPolicy(params.minParity(), params.maxParity())
                .parity(params.blockSymbols(), reports, params.parity())
            : 0;
    // Real receptions: the first few of each kind.
    List<Reception> real = new ArrayList<>();
    List<StreamImages.Collector> outs = new ArrayList<>();
    List<Client> realClients = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      boolean first = i < s.realClients() / 2 + 1 && i < s.randomClients();
      boolean firstBursty =
          i >= s.randomClients() && i < s.randomClients() + Math.max(1, s.realClients() / 2);
      if (s.fec() && s.realClients() > 0 && (first || firstBursty)) {
        StreamImages.Collector out = new StreamImages.Collector(disk.length);
        real.add(
            new Reception(layout, image.metadata().index(), keys, out, Runnable::run, 256L << 20));
        outs.add(out);
        all.get(i).real = realClients.size();
        realClients.add(all.get(i));
      }
    }
    Carousel carousel = new Carousel(layout, params.interleave());
    Emitter emitter = new Emitter(carousel, keys);
    SourceSymbols symbols = new SourceSymbols(layout, StoredChunks.of(image));
    EncodedGroup g = new EncodedGroup();
    long[] wire = {0};
    int datagram = Datagram.length(params.symbolSize());
    long rotation = 0;
    double firstLoopW = 0;
    int running = all.size();
    for (int loop = 0; loop < s.maxLoops() && running > 0; loop++) {
      final int thisLoop = loop;
      for (int gr = 0; gr < carousel.groups(); gr++) {
        g.prepare(carousel, symbols, ForkJoinPool.commonPool(), loop, gr, parity, rotation);
        emitter.emit(
            g,
            d -> {
              wire[0] += datagram;
              int b = Datagram.block(d);
              int idx = Datagram.index(d);
              int k = layout.blockK(b);
              for (int ci = 0; ci < all.size(); ci++) {
                Client c = all.get(ci);
                if (c.doneAt >= 0 || !c.receives()) {
                  continue;
                }
                if (c.real >= 0) {
                  real.get(c.real).offer(d);
                }
                if (c.count[b] >= k) {
                  continue;
                }
                long bit = 1L << (idx & 63);
                int w = b * 4 + (idx >>> 6);
                if ((c.seen[w] & bit) == 0) {
                  c.seen[w] |= bit;
                  if (++c.count[b] == k && --c.blocksLeft == 0) {
                    c.doneAt = wire[0];
                    c.loopsNeeded = thisLoop + 1;
                  }
                }
              }
            });
      }
      rotation += parity;
      if (loop == 0) {
        firstLoopW = (double) wire[0] / layout.storedBytes();
        for (Client c : all) {
          for (int b = 0; b < blocks; b++) {
            c.repairBytes +=
                (long) Math.max(0, layout.blockK(b) - c.count[b]) * layout.symbolSize();
          }
        }
        checkReal(layout, real, realClients, outs, disk, file);
      }
      running = 0;
      for (Client c : all) {
        running += c.doneAt < 0 ? 1 : 0;
      }
    }
    List<Outcome> out = new ArrayList<>();
    out.add(outcome("5% random", all.subList(0, s.randomClients()), firstLoopW, layout));
    if (s.burstyClients() > 0) {
      out.add(
          outcome(
              (int) (s.burstyLoss() * 100) + "% bursty",
              all.subList(s.randomClients(), all.size()),
              firstLoopW,
              layout));
    }
    return out;
  }

  /**
   * The real receptions must hold exactly the blocks the count says after loop 1; then their repair
   * ranges (real bytes of the image file) must complete them byte-exact.
   */
  private static void checkReal(
      StreamLayout layout,
      List<Reception> real,
      List<Client> clients,
      List<StreamImages.Collector> outs,
      byte[] disk,
      byte[] file)
      throws Exception {
    for (int i = 0; i < real.size(); i++) {
      Reception r = real.get(i);
      Client c = clients.get(i);
      int missing = 0;
      long lacking = 0;
      for (int b = 0; b < layout.blocks(); b++) {
        if (c.count[b] < layout.blockK(b)) {
          missing++;
          lacking += layout.blockK(b) - c.count[b];
        }
      }
      if (r.progress().blocksMissing() != missing) {
        throw new AssertionError(
            "real reception misses " + r.progress().blocksMissing() + " blocks, count " + missing);
      }
      List<RepairRange> want = r.wanted(Long.MAX_VALUE);
      long symbols = 0;
      for (RepairRange w : want) {
        symbols += (w.length() + layout.symbolSize() - 1) / layout.symbolSize();
        r.repaired(w, ByteBuffer.wrap(file, (int) w.fileOffset(), w.length()));
      }
      if (symbols < lacking) {
        throw new AssertionError("repair asks " + symbols + " symbols, the blocks lack " + lacking);
      }
      if (!r.await(10, TimeUnit.SECONDS) || !Arrays.equals(outs.get(i).disk, disk)) {
        throw new AssertionError("a real client is not exact after repair: " + r.progress());
      }
    }
  }

  private static Outcome outcome(String kind, List<Client> cs, double firstLoopW, StreamLayout l) {
    long repairMax = 0;
    double repairSum = 0;
    int loopsMax = 0;
    double loopsSum = 0;
    long doneMax = 0;
    int unfinished = 0;
    for (Client c : cs) {
      repairMax = Math.max(repairMax, c.repairBytes);
      repairSum += c.repairBytes;
      if (c.doneAt < 0) {
        unfinished++;
        continue;
      }
      loopsMax = Math.max(loopsMax, c.loopsNeeded);
      loopsSum += c.loopsNeeded;
      doneMax = Math.max(doneMax, c.doneAt);
    }
    int done = cs.size() - unfinished;
    return new Outcome(
        kind,
        cs.size(),
        firstLoopW,
        repairMax,
        repairSum / cs.size(),
        loopsMax,
        done == 0 ? 0 : loopsSum / done,
        (double) doneMax / l.storedBytes(),
        unfinished);
  }
}
