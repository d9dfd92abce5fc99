package dev.imprint.engine.fec;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One FEC block being received: k slots of one symbol each. A source symbol goes to its own slot; a
 * parity symbol waits in a slot whose source is still missing, so a block never needs more than k
 * symbols of memory. Once it holds k distinct symbols, a {@link Decoder} turns the parked parity
 * into the missing sources in place. Not thread-safe.
 */
public final class FecBlock {
  private static final short EMPTY = -1;

  private final int k;
  private final int size;
  private final byte[] data;
  private final short[] holds;
  private final long[] seen = new long[ReedSolomon.MAX_SYMBOLS / 64];
  private int sources;
  private int parities;

  public FecBlock(int k, int size) {
    ReedSolomon.checkK(k);
    if (size <= 0) {
      throw new IllegalArgumentException("a symbol has at least one byte, not " + size);
    }
    this.k = k;
    this.size = size;
    this.data = new byte[Math.multiplyExact(k, size)];
    this.holds = new short[k];
    Arrays.fill(holds, EMPTY);
  }

  public int k() {
    return k;
  }

  public int symbolSize() {
    return size;
  }

  /** Whether symbol {@code index} has been taken already. */
  public boolean has(int index) {
    return (seen[index >>> 6] & (1L << index)) != 0;
  }

  /** Distinct symbols held. */
  public int count() {
    return sources + parities;
  }

  /** Whether k symbols are held: the block can be decoded. */
  public boolean ready() {
    return sources + parities >= k;
  }

  /** Whether every source symbol is in place (nothing to decode, or decoded). */
  public boolean complete() {
    return sources == k;
  }

  /** Whether source symbol {@code j} is in its slot. */
  public boolean hasSource(int j) {
    return holds[j] == j;
  }

  /**
   * Takes symbol {@code index} ({@code size} bytes from {@code src}'s position, which is not
   * moved). False when it adds nothing: a duplicate, or the block already has k symbols.
   */
  public boolean add(int index, ByteBuffer src) {
    if (index < 0 || index >= ReedSolomon.MAX_SYMBOLS) {
      throw new IllegalArgumentException("symbol index " + index + " is outside 0..255");
    }
    if (src.remaining() < size) {
      throw new IllegalArgumentException(
          "a symbol has " + size + " bytes, " + src.remaining() + " given");
    }
    if (ready() || has(index)) {
      return false;
    }
    int slot;
    if (index < k) {
      slot = index;
      if (holds[slot] != EMPTY) {
        // A parity symbol waits here: move it to another free slot (one exists, count < k).
        int free = freeSlot();
        System.arraycopy(data, slot * size, data, free * size, size);
        holds[free] = holds[slot];
      }
      sources++;
    } else {
      slot = freeSlot();
      parities++;
    }
    src.get(src.position(), data, slot * size, size);
    holds[slot] = (short) index;
    seen[index >>> 6] |= 1L << index;
    return true;
  }

  private int freeSlot() {
    for (int i = k - 1; i >= 0; i--) {
      if (holds[i] == EMPTY) {
        return i;
      }
    }
    throw new IllegalStateException("no free slot in a block that is not ready");
  }

  /** The source bytes, symbol j at j * size; whole only when {@link #complete()}. */
  public byte[] data() {
    return data;
  }

  /** Forgets every symbol (the block is received again). */
  public void clear() {
    Arrays.fill(holds, EMPTY);
    Arrays.fill(seen, 0);
    sources = 0;
    parities = 0;
  }

  /** Source indices still missing, lowest first, at most {@code max} of them. */
  public int[] missingSources(int max) {
    int[] out = new int[Math.min(max, k - sources)];
    int n = 0;
    for (int j = 0; j < k && n < out.length; j++) {
      if (holds[j] != j) {
        out[n++] = j;
      }
    }
    return out;
  }

  short[] holds() {
    return holds;
  }

  void markDecoded() {
    for (int j = 0; j < k; j++) {
      holds[j] = (short) j;
      seen[j >>> 6] |= 1L << j;
    }
    sources = k;
    parities = 0;
  }
}
