package dev.imprint.engine.probe;

import dev.imprint.engine.device.TargetDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * Finds drives that claim more than they hold, in seconds rather than the hours a full write and
 * read takes. Fake drives either wrap (high address bits ignored, so a write past the real size
 * lands on an earlier block) or drop what lies past the real size. The probe writes a token, one 4
 * KiB block naming its own offset and this run's nonce, at every power-of-two offset and at evenly
 * spread offsets (power-of-two apart) up to the last block, flushes, reads each back past the cache
 * and checks it.
 *
 * <p>A wrap shows as a token read back at another offset: the distance between where it was meant
 * to be and where it is read is a multiple of the real size, so the real size is the greatest
 * common divisor of those distances. A drop shows as a token missing: the real size is at most the
 * first offset missing one.
 */
public final class CapacityProbe {
  static final int BLOCK = 4096;
  private static final long MAGIC = 0x494d50524e54504bL; // "IMPRNTPK"

  /** The outcome: {@code realBytes} is the size the drive really has (its claimed size if ok). */
  public record Result(boolean ok, long claimedBytes, long realBytes, int tokens, String message) {}

  private CapacityProbe() {}

  /** Offsets probed on a drive of {@code size} bytes: about 256 spread ones and every 2^k. */
  static List<Long> offsets(long size) {
    long last = (size / BLOCK - 1) * BLOCK;
    TreeSet<Long> set = new TreeSet<>();
    set.add(0L);
    for (long p = 1L << 20; p <= last; p <<= 1) {
      set.add(p);
    }
    long step = Math.max(1L << 20, Long.highestOneBit(Math.max(1, size / 256)));
    for (long p = step; p <= last; p += step) {
      set.add(p);
    }
    set.add(last);
    return new ArrayList<>(set);
  }

  public static Result run(ProbeTarget target) throws IOException {
    long size = target.size();
    if (size < 2L * BLOCK) {
      return new Result(true, size, size, 0, "too small to probe");
    }
    long nonce = new SecureRandom().nextLong();
    List<Long> offsets = offsets(size);
    ByteBuffer buf = TargetDevice.allocateAligned(BLOCK);
    for (long off : offsets) {
      fill(buf, nonce, off);
      target.write(buf, off);
    }
    target.sync();
    long gcd = 0;
    long firstMissing = Long.MAX_VALUE;
    int bad = 0;
    for (long off : offsets) {
      buf.clear();
      int n = target.read(buf, off);
      buf.flip();
      long found = n == BLOCK ? tokenOffset(buf, nonce) : -1;
      if (found == off) {
        continue;
      }
      bad++;
      if (found >= 0) {
        gcd = gcd(gcd, Math.abs(found - off));
      } else {
        firstMissing = Math.min(firstMissing, off);
      }
    }
    if (bad == 0) {
      return new Result(true, size, size, offsets.size(), "capacity ok");
    }
    long real = Math.min(gcd == 0 ? Long.MAX_VALUE : gcd, firstMissing);
    return new Result(
        false,
        size,
        real,
        offsets.size(),
        String.format(
            Locale.ROOT,
            "fake capacity: about %s real of %s claimed (%d of %d test blocks lost or moved)",
            gb(real),
            gb(size),
            bad,
            offsets.size()));
  }

  private static String gb(long bytes) {
    return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
  }

  /** A token: magic, nonce, offset, then the same three words again at the block's end. */
  private static void fill(ByteBuffer buf, long nonce, long offset) {
    buf.clear();
    buf.order(ByteOrder.LITTLE_ENDIAN);
    long x = nonce ^ offset;
    while (buf.remaining() >= 8) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      buf.putLong(x); // filler no controller compresses away
    }
    buf.putLong(0, MAGIC).putLong(8, nonce).putLong(16, offset);
    buf.putLong(BLOCK - 24, MAGIC).putLong(BLOCK - 16, nonce).putLong(BLOCK - 8, offset);
    buf.clear();
  }

  /** The offset a block's token names, or -1 when it holds no token of this run. */
  private static long tokenOffset(ByteBuffer buf, long nonce) {
    buf.order(ByteOrder.LITTLE_ENDIAN);
    if (buf.getLong(0) != MAGIC
        || buf.getLong(8) != nonce
        || buf.getLong(BLOCK - 24) != MAGIC
        || buf.getLong(BLOCK - 16) != nonce
        || buf.getLong(16) != buf.getLong(BLOCK - 8)) {
      return -1;
    }
    return buf.getLong(16);
  }

  private static long gcd(long a, long b) {
    while (b != 0) {
      long t = a % b;
      a = b;
      b = t;
    }
    return a;
  }
}
