package dev.imprint.engine.multicast;

import dev.imprint.engine.fec.ParityEncoder;
import dev.imprint.engine.fec.ReedSolomon;
import java.io.IOException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * One group of blocks ready to send on one loop: its source symbols read and its parity symbols for
 * that loop computed, the blocks encoded in parallel. Reused from group to group, so the sender
 * allocates nothing per datagram (the buffers grow once to the largest group).
 */
final class EncodedGroup {
  /** Per encoding thread: parity indices. */
  private static final ThreadLocal<int[]> INDICES =
      ThreadLocal.withInitial(() -> new int[ReedSolomon.MAX_SYMBOLS]);

  /** Per encoding thread: the encoder and the tables it keeps for this loop's parity indices. */
  private static final ThreadLocal<ParityEncoder> ENCODER =
      ThreadLocal.withInitial(ParityEncoder::new);

  int loop;
  int group;
  int parity;
  long rotation;
  private StreamLayout layout;
  private int firstBlock;
  private int blocks;
  private byte[][] source = new byte[0][];
  private byte[][] repair = new byte[0][];

  /**
   * Reads and encodes {@code group} of {@code carousel} for a loop with {@code parity} symbols per
   * block and rotation {@code rotation}; encodes on {@code pool}.
   */
  void prepare(
      Carousel carousel,
      SourceSymbols symbols,
      ForkJoinPool pool,
      int loop,
      int group,
      int parity,
      long rotation)
      throws IOException {
    StreamLayout l = carousel.layout();
    this.layout = l;
    int s = l.symbolSize();
    this.loop = loop;
    this.group = group;
    this.parity = parity;
    this.rotation = rotation;
    this.firstBlock = carousel.firstBlock(group);
    this.blocks = carousel.blocksIn(group);
    if (source.length < blocks) {
      source = java.util.Arrays.copyOf(source, blocks);
      repair = java.util.Arrays.copyOf(repair, blocks);
    }
    for (int i = 0; i < blocks; i++) {
      int k = l.blockK(firstBlock + i);
      if (source[i] == null || source[i].length < k * s) {
        source[i] = new byte[(k + 1) * s];
      }
      int r = Math.min(parity, Carousel.parityLimit(k));
      if (repair[i] == null || repair[i].length < r * s) {
        repair[i] = new byte[Math.max(r, 1) * s];
      }
      symbols.fill(firstBlock + i, source[i]);
    }
    pool.invoke(new Encode(l, 0, blocks));
  }

  /** Encodes blocks [from, to) of the group, splitting down to one block per task. */
  private final class Encode extends RecursiveAction {
    private final StreamLayout layout;
    private final int from;
    private final int to;

    Encode(StreamLayout layout, int from, int to) {
      this.layout = layout;
      this.from = from;
      this.to = to;
    }

    @Override
    protected void compute() {
      if (to - from > 1) {
        int mid = (from + to) >>> 1;
        invokeAll(new Encode(layout, from, mid), new Encode(layout, mid, to));
        return;
      }
      int s = layout.symbolSize();
      int k = layout.blockK(firstBlock + from);
      int r = Math.min(parity, Carousel.parityLimit(k));
      int[] p = INDICES.get();
      for (int i = 0; i < r; i++) {
        p[i] = Carousel.parityIndex(k, rotation, i);
      }
      ENCODER.get().encode(k, s, source[from], 0, p, r, repair[from], 0);
    }
  }

  /** The array holding symbol {@code index} of {@code block}; see {@link #offset}. */
  byte[] array(int block, int index) {
    int i = block - firstBlock;
    return index < layout.blockK(block) ? source[i] : repair[i];
  }

  /** Where symbol {@code index} of {@code block} starts in {@link #array}. */
  int offset(int block, int index) {
    int k = layout.blockK(block);
    if (index < k) {
      return index * layout.symbolSize();
    }
    // Parity index p was this loop's n-th: p = k + (rotation + n) mod (256 - k).
    int limit = Carousel.parityLimit(k);
    long n = ((index - k) - rotation % limit + limit) % limit;
    return (int) n * layout.symbolSize();
  }
}
