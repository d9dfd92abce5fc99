package dev.imprint.engine.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The probe against drives that lie about their size, kept in memory block by block. */
class CapacityProbeTest {
  /**
   * A drive claiming {@code claimed} bytes that really holds {@code real}, wrapping or dropping.
   */
  static final class LyingDrive implements ProbeTarget {
    final long claimed;
    final long real;
    final boolean wraps;
    final Map<Long, byte[]> blocks = new HashMap<>();
    int writes;

    LyingDrive(long claimed, long real, boolean wraps) {
      this.claimed = claimed;
      this.real = real;
      this.wraps = wraps;
    }

    @Override
    public long size() {
      return claimed;
    }

    @Override
    public void write(ByteBuffer src, long position) {
      writes++;
      byte[] b = new byte[src.remaining()];
      src.duplicate().get(b);
      if (position >= real && !wraps) {
        return; // dropped: the controller acknowledges and forgets
      }
      blocks.put(position % real, b);
    }

    @Override
    public int read(ByteBuffer dst, long position) {
      byte[] b = position >= real && !wraps ? null : blocks.get(position % real);
      int n = dst.remaining();
      dst.put(b == null ? new byte[n] : b, 0, n);
      return n;
    }

    @Override
    public void sync() {}
  }

  private static final long GB = 1_000_000_000L;

  @Test
  void anHonestDrivePasses() throws Exception {
    LyingDrive d = new LyingDrive(64L << 30, 64L << 30, true);
    CapacityProbe.Result r = CapacityProbe.run(d);
    assertTrue(r.ok(), r.message());
    assertTrue(d.writes < 400, "a few hundred blocks, not the whole drive: " + d.writes);
  }

  @Test
  void aDriveThatWrapsAtItsRealSizeIsCaughtAndSized() throws Exception {
    CapacityProbe.Result r = CapacityProbe.run(new LyingDrive(128L << 30, 8L << 30, true));
    assertFalse(r.ok());
    assertEquals(8L << 30, r.realBytes());
    assertTrue(r.message().startsWith("fake capacity: about 8.6 GB real"), r.message());
  }

  @Test
  void aDriveThatDropsWritesPastItsRealSizeIsCaught() throws Exception {
    CapacityProbe.Result r = CapacityProbe.run(new LyingDrive(64L * GB, 16L * GB, false));
    assertFalse(r.ok());
    assertTrue(r.realBytes() >= 16L * GB && r.realBytes() <= 20L * GB, "" + r.realBytes());
  }

  @Test
  void aTinyFakeOfAHugeClaimIsCaughtToo() throws Exception {
    CapacityProbe.Result r = CapacityProbe.run(new LyingDrive(2L << 40, 4L << 30, true));
    assertFalse(r.ok());
    assertEquals(4L << 30, r.realBytes());
  }

  @Test
  void everyProbedOffsetIsAlignedAndInside() {
    long size = 16_008_609_792L; // a "16 GB" stick
    for (long o : CapacityProbe.offsets(size)) {
      assertEquals(0, o % CapacityProbe.BLOCK);
      assertTrue(o + CapacityProbe.BLOCK <= size);
    }
    assertEquals(
        size - CapacityProbe.BLOCK,
        CapacityProbe.offsets(size).get(CapacityProbe.offsets(size).size() - 1));
  }
}
