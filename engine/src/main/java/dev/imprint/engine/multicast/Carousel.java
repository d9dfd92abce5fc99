package dev.imprint.engine.multicast;

import dev.imprint.engine.fec.ReedSolomon;

/**
 * The sender's schedule (docs/PROTOCOL.md, "Carousel"): a loop goes through the blocks in groups of
 * {@code interleave} consecutive blocks; a group sends the first source symbol of each of its
 * blocks, then the second of each, and so on, then its parity symbols the same way, so a burst of
 * lost datagrams takes at most one symbol from each block per {@code interleave} datagrams. The
 * parity indices rotate: a loop sends, for each block, the {@code r} parity symbols after those of
 * the loops before (modulo the 256 - k a block has), so every loop brings new repair data.
 */
public final class Carousel {
  private final StreamLayout layout;
  private final int interleave;

  /** Receives one scheduled symbol: its block and index (0..k-1 source, k.. parity). */
  @FunctionalInterface
  public interface Visitor {
    void symbol(int block, int index) throws Exception;
  }

  public Carousel(StreamLayout layout, int interleave) {
    if (interleave < 1) {
      throw new IllegalArgumentException("interleave at least 1 block, not " + interleave);
    }
    this.layout = layout;
    this.interleave = interleave;
  }

  public StreamLayout layout() {
    return layout;
  }

  public int groups() {
    return (layout.blocks() + interleave - 1) / interleave;
  }

  public int firstBlock(int group) {
    return group * interleave;
  }

  public int blocksIn(int group) {
    return Math.min(interleave, layout.blocks() - group * interleave);
  }

  /**
   * Parity symbol {@code i} (0-based) of a block of {@code k} on a loop whose rotation is {@code
   * rotation}: the parity sent per block on all loops before it.
   */
  public static int parityIndex(int k, long rotation, int i) {
    return k + (int) ((rotation + i) % (ReedSolomon.MAX_SYMBOLS - k));
  }

  /** The most distinct parity symbols a block of {@code k} can send. */
  public static int parityLimit(int k) {
    return ReedSolomon.MAX_SYMBOLS - k;
  }

  /** Datagrams a group sends on a loop with {@code parity} symbols per block. */
  public int datagrams(int group, int parity) {
    int n = 0;
    for (int b = firstBlock(group); b < firstBlock(group) + blocksIn(group); b++) {
      n += layout.blockK(b) + Math.min(parity, parityLimit(layout.blockK(b)));
    }
    return n;
  }

  /** Visits a group's symbols in sending order: sources interleaved, then parity interleaved. */
  public void schedule(int group, int parity, long rotation, Visitor v) throws Exception {
    int b0 = firstBlock(group);
    int n = blocksIn(group);
    int maxK = 0;
    for (int b = b0; b < b0 + n; b++) {
      maxK = Math.max(maxK, layout.blockK(b));
    }
    for (int s = 0; s < maxK; s++) {
      for (int b = b0; b < b0 + n; b++) {
        if (s < layout.blockK(b)) {
          v.symbol(b, s);
        }
      }
    }
    for (int i = 0; i < parity; i++) {
      for (int b = b0; b < b0 + n; b++) {
        int k = layout.blockK(b);
        if (i < parityLimit(k)) {
          v.symbol(b, parityIndex(k, rotation, i));
        }
      }
    }
  }
}
