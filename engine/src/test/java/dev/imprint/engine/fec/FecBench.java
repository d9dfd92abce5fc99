package dev.imprint.engine.fec;

import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.multicast.Datagram;
import dev.imprint.engine.multicast.SessionKeys;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.util.Random;

/**
 * Encode and decode throughput of the Reed-Solomon code on one core, in MB/s of source data, for
 * bench/fec.sh: {@code FecBench [k] [r] [symbolSize] [seconds]}. Decoding loses r source symbols of
 * each block (the most a block with r parity can lose) and also 5% of them (the typical case).
 * Rates are per CPU second of the measuring thread, so a busy machine slows the run, not the
 * figure.
 */
public final class FecBench {
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  /** CPU nanoseconds of this thread. */
  static long cpu() {
    return CPU.getCurrentThreadCpuTime();
  }

  public static void main(String[] args) {
    int k = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int r = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int size = args.length > 2 ? Integer.parseInt(args[2]) : 1400;
    double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 3;
    byte[] src = new byte[k * size];
    new Random(1).nextBytes(src);
    byte[][] parity = new byte[r][size];
    // warm-up, then measure
    TABLES = false;
    encode(k, r, size, src, parity, 0.5);
    double one = encode(k, r, size, src, parity, seconds);
    System.out.printf(
        "encode k=%d r=%d S=%d, a lookup per row: %.0f MB/s per core%n", k, r, size, one);
    TABLES = true;
    encode(k, r, size, src, parity, 0.5);
    double enc = encode(k, r, size, src, parity, seconds);
    System.out.printf(
        "encode k=%d r=%d S=%d, ParityEncoder (the sender's; "
            + (NativeProducts.AVAILABLE ? "ISA-L" : "Java, 8 rows per lookup")
            + "): %.0f MB/s per core%n",
        k,
        r,
        size,
        enc);
    double[] dec = new double[2];
    int[] lost = {Math.max(1, k / 20), r};
    for (int i = 0; i < 2; i++) {
      decode(k, size, src, parity, lost[i], 0.5);
      dec[i] = decode(k, size, src, parity, lost[i], seconds);
      System.out.printf("decode k=%d lost=%d S=%d: %.0f MB/s per core%n", k, lost[i], size, dec[i]);
    }
    mac(size, 0.5);
    double macUs = mac(size, seconds);
    sha(0.5);
    double sha = sha(seconds);
    System.out.printf("HMAC-SHA256 per %d-byte datagram: %.2f us per core%n", size + 52, macUs);
    System.out.printf("SHA-256 of 1 MiB chunks: %.0f MB/s per core%n", sha);
    double rate = 50e6;
    double macs = rate / size * (1 + (double) r / k) * macUs / 1e6;
    double server = rate / (enc * 1e6) + macs;
    double client = rate / (dec[0] * 1e6) + macs + rate / (sha * 1e6);
    System.out.printf(
        "at 50 MB/s: server %.2f core (encode + MAC), client %.2f core (MAC + decode at 5%%"
            + " loss + SHA-256; decompression not counted)%n",
        server, client);
  }

  /** Microseconds of CPU per MAC of one datagram. */
  private static double mac(int size, double s) {
    SessionKeys keys = SessionKeys.generate(new byte[32]);
    Datagram d = new Datagram(keys);
    ByteBuffer b = ByteBuffer.allocateDirect(size + 52);
    long n = 0;
    long t0 = cpu();
    long end = t0 + (long) (s * 1e9);
    while (cpu() < end) {
      for (int i = 0; i < 100; i++) {
        b.clear();
        d.seal(b, size);
        n++;
      }
    }
    return (cpu() - t0) / 1e3 / n;
  }

  /** MB/s of SHA-256 over 1 MiB direct buffers (libcrypto when it loads, as chunks are). */
  private static double sha(double s) {
    ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
    long bytes = 0;
    long t0 = cpu();
    long end = t0 + (long) (s * 1e9);
    while (cpu() < end) {
      Sha256.of(b);
      bytes += b.capacity();
    }
    return bytes / ((cpu() - t0) / 1e9) / 1e6;
  }

  /**
   * Whether {@link #encode} measures the sender's {@link ParityEncoder} or the row-at-a-time one.
   */
  private static boolean TABLES;

  private static double encode(int k, int r, int size, byte[] src, byte[][] parity, double s) {
    int[] p = new int[r];
    for (int i = 0; i < r; i++) {
      p[i] = k + i;
    }
    byte[] out = new byte[r * size];
    int[] coef = new int[r];
    int[] at = new int[r];
    long bytes = 0;
    long t0 = cpu();
    long end = t0 + (long) (s * 1e9);
    ParityEncoder encoder = new ParityEncoder();
    while (cpu() < end) {
      if (TABLES) {
        encoder.encode(k, size, src, 0, p, r, out, 0);
      } else {
        ReedSolomon.encode(k, size, src, 0, p, r, out, 0, coef, at);
      }
      bytes += (long) k * size;
    }
    for (int i = 0; i < r; i++) {
      System.arraycopy(out, i * size, parity[i], 0, size);
    }
    return bytes / ((cpu() - t0) / 1e9) / 1e6;
  }

  private static double decode(int k, int size, byte[] src, byte[][] parity, int lost, double s) {
    Decoder d = new Decoder();
    FecBlock b = new FecBlock(k, size);
    ByteBuffer srcBuf = ByteBuffer.wrap(src);
    long bytes = 0;
    long t0 = cpu();
    long end = t0 + (long) (s * 1e9);
    while (cpu() < end) {
      b.clear();
      for (int j = lost; j < k; j++) {
        b.add(j, srcBuf.position(j * size));
      }
      for (int i = 0; i < lost; i++) {
        b.add(k + i, ByteBuffer.wrap(parity[i]));
      }
      d.decode(b);
      bytes += (long) k * size;
    }
    return bytes / ((cpu() - t0) / 1e9) / 1e6;
  }
}
