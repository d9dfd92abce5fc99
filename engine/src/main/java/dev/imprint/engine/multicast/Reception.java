package dev.imprint.engine.multicast;

import dev.imprint.engine.fec.Decoder;
import dev.imprint.engine.fec.FecBlock;
import dev.imprint.engine.image.ChunkDamagedException;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.IndexTable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The receiving side of a stream without its socket: takes datagrams ({@link #offer}) and repair
 * bytes ({@link #repaired}), keeps each FEC block until it can be decoded, decodes it on {@code
 * decoders}, and hands each chunk to the {@link ChunkSink} only once its decoded bytes match the
 * SHA-256 in the index. A datagram of another session or image is dropped on its header, one whose
 * MAC fails before it touches any block; a chunk that fails its hash (it cannot, short of a bug or
 * a bad repair) has its blocks received again. Memory is bounded: blocks being received or waiting
 * for a neighbour take at most {@code memoryBudget} bytes, and symbols of blocks not yet started
 * are dropped beyond it (a later loop brings them again).
 *
 * <p>{@link #offer} is called by one thread; the rest may be called from any.
 */
public final class Reception {
  /** Where verified chunks go. */
  @FunctionalInterface
  public interface ChunkSink {
    /**
     * Chunk {@code entryNumber} of the index, decoded and checked: {@code decoded} holds its
     * logical bytes and is valid during the call only. Called on a decoder thread, once per chunk;
     * may block (datagrams the reception cannot take meanwhile are dropped).
     */
    void chunk(int entryNumber, IndexEntry entry, ByteBuffer decoded) throws IOException;
  }

  /** What became of a datagram. */
  public enum Verdict {
    /** It added a symbol. */
    ACCEPTED,
    /** Authentic, but its block already has what it needs. */
    DUPLICATE,
    /** Another session, image or protocol version: dropped on the header. */
    FOREIGN,
    /** This session's header but a wrong MAC: altered or forged. */
    FORGED,
    /** Authentic but not matching the layout (wrong size, block or k). */
    MALFORMED,
    /** Authentic, but the memory budget has no room for another block now. */
    OVER_BUDGET
  }

  /** Counters and progress at one moment. */
  public record Progress(
      int chunksDone,
      int chunks,
      long storedBytesDone,
      long storedBytes,
      int blocksMissing,
      long authentic,
      long expected,
      long foreign,
      long forged,
      long malformed,
      long overBudget,
      long rejectedChunks,
      boolean fullLoopSeen) {
    /** Fraction of this session's datagrams sent since the first one seen that did not arrive. */
    public double lossRate() {
      return expected == 0 ? 0 : Math.max(0, 1 - (double) authentic / expected);
    }
  }

  private static final byte NEW = 0;
  private static final byte PARTIAL = 1;
  private static final byte DECODING = 2;
  private static final byte DECODED = 3;
  private static final byte DONE = 4;

  private final StreamLayout layout;
  private final IndexTable index;
  private volatile SessionKeys keys;
  private final ChunkSink sink;
  private final Executor decoders;
  private final long memoryBudget;
  private volatile Datagram datagram;
  private final FecBlock[] blocks;
  private final byte[] state;
  private final boolean[] chunkDone;
  private final boolean[] chunkBusy;

  @SuppressWarnings("unchecked")
  private final ArrayDeque<FecBlock>[] spare = new ArrayDeque[256];

  private final ThreadLocal<Decoder> decoder = ThreadLocal.withInitial(Decoder::new);
  private final ThreadLocal<ByteBuffer[]> buffers =
      ThreadLocal.withInitial(() -> new ByteBuffer[2]);
  private final CountDownLatch done = new CountDownLatch(1);
  private final ByteBuffer repairSymbol;

  private long memory;
  private int blocksMissing;
  private int chunksDone;
  private long storedDone;
  private long authentic;
  private long foreign;
  private long forged;
  private long malformed;
  private long overBudget;
  private long rejectedChunks;
  private boolean seenAny;

  /** Datagrams expected in sessions before this one (a restarted server's new session). */
  private long expectedBefore;

  /** loop × blocks + block of the newest symbol seen in this session, or -1. */
  private long newestPosition = -1;

  private long firstSeq;
  private long maxSeq;
  private long firstPosition;
  private boolean fullLoop;
  private volatile Exception failure;

  public Reception(
      StreamLayout layout,
      IndexTable index,
      SessionKeys keys,
      ChunkSink sink,
      Executor decoders,
      long memoryBudget) {
    this.layout = layout;
    this.index = index;
    this.keys = keys;
    this.sink = sink;
    this.decoders = decoders;
    this.memoryBudget = memoryBudget;
    this.datagram = new Datagram(keys);
    this.blocks = new FecBlock[layout.blocks()];
    this.state = new byte[layout.blocks()];
    this.chunkDone = new boolean[layout.chunks()];
    this.chunkBusy = new boolean[layout.chunks()];
    this.blocksMissing = layout.blocks();
    this.repairSymbol = ByteBuffer.allocate(layout.symbolSize());
    if (layout.chunks() == 0) {
      done.countDown();
    }
  }

  public StreamLayout layout() {
    return layout;
  }

  public SessionKeys keys() {
    return keys;
  }

  /**
   * Goes on with a new session of the same image (its server restarted and the client shook hands
   * again): its datagrams are taken from now on, the old session's are foreign. The blocks in
   * progress stay: the same image cut the same way gives the same symbols.
   */
  public synchronized void rekey(SessionKeys next) {
    if (!java.util.Arrays.equals(next.imageDigest(), keys.imageDigest())) {
      throw new IllegalArgumentException("a new session must stream the same image");
    }
    datagram = new Datagram(next);
    keys = next;
    if (seenAny) {
      expectedBefore += maxSeq - firstSeq + 1;
      seenAny = false; // sequence numbers and loops start again
      newestPosition = -1;
    }
  }

  /**
   * Takes one datagram (position 0 to limit; not kept). Checks the header, then the MAC, then the
   * layout, before any block is touched.
   */
  public Verdict offer(ByteBuffer d) {
    if (!Datagram.belongsTo(d, keys)) {
      synchronized (this) {
        foreign++;
      }
      return Verdict.FOREIGN;
    }
    int size = layout.symbolSize();
    if (d.limit() != Datagram.length(size) || !datagram.verify(d)) {
      synchronized (this) {
        forged++;
      }
      return Verdict.FORGED;
    }
    int b = Datagram.block(d);
    if (Datagram.symbolSize(d) != size
        || b < 0
        || b >= layout.blocks()
        || Datagram.k(d) != layout.blockK(b)) {
      synchronized (this) {
        malformed++;
      }
      return Verdict.MALFORMED;
    }
    synchronized (this) {
      count(Datagram.sequence(d), Datagram.loop(d), b);
    }
    return accept(b, Datagram.index(d), d.duplicate().position(Datagram.HEADER), false);
  }

  private void count(int seq, int loop, int block) {
    authentic++;
    long position = (long) loop * layout.blocks() + block;
    newestPosition = Math.max(newestPosition, position);
    if (!seenAny) {
      seenAny = true;
      firstSeq = seq;
      maxSeq = seq;
      firstPosition = position;
      return;
    }
    long s = maxSeq + (seq - (int) maxSeq); // unwraps the 32-bit counter
    maxSeq = Math.max(maxSeq, s);
    if (position - firstPosition >= layout.blocks()) {
      fullLoop = true;
    }
  }

  /**
   * Adds symbol {@code index} of block {@code b}; starts its decoding when it has k symbols. Repair
   * ({@code force}) may exceed the memory budget: it was asked for and will not come again.
   */
  private Verdict accept(int b, int index, ByteBuffer symbol, boolean force) {
    FecBlock fb;
    synchronized (this) {
      byte st = state[b];
      if (st >= DECODING) {
        return Verdict.DUPLICATE;
      }
      fb = blocks[b];
      if (fb == null) {
        int k = layout.blockK(b);
        long need = (long) k * layout.symbolSize();
        if (memory + need > memoryBudget && memory > 0 && !force) {
          overBudget++;
          return Verdict.OVER_BUDGET;
        }
        fb = take(k);
        blocks[b] = fb;
        state[b] = PARTIAL;
        memory += need;
      }
      if (!fb.add(index, symbol)) {
        return Verdict.DUPLICATE;
      }
      if (!fb.ready()) {
        return Verdict.ACCEPTED;
      }
      state[b] = DECODING;
      blocksMissing--;
    }
    decoders.execute(() -> decoded(b));
    return Verdict.ACCEPTED;
  }

  private FecBlock take(int k) {
    ArrayDeque<FecBlock> q = spare[k];
    FecBlock fb = q == null ? null : q.poll();
    return fb != null ? fb : new FecBlock(k, layout.symbolSize());
  }

  private void giveBack(int b) {
    FecBlock fb = blocks[b];
    blocks[b] = null;
    fb.clear();
    memory -= (long) fb.k() * layout.symbolSize();
    ArrayDeque<FecBlock> q = spare[fb.k()];
    if (q == null) {
      q = spare[fb.k()] = new ArrayDeque<>();
    }
    if (q.size() < 4) {
      q.add(fb);
    }
  }

  /** On a decoder thread: decode block b, then finish every chunk it completes. */
  private void decoded(int b) {
    try {
      decoder.get().decode(blocks[b]);
      List<Integer> ready = new ArrayList<>(2);
      synchronized (this) {
        state[b] = DECODED;
        for (int c = layout.firstChunkOf(b); c <= layout.lastChunkOf(b); c++) {
          if (!chunkDone[c] && !chunkBusy[c] && allDecoded(c)) {
            chunkBusy[c] = true;
            ready.add(c);
          }
        }
        freeFinished(b);
      }
      for (int c : ready) {
        finish(c);
      }
    } catch (Exception e) {
      fail(e);
    }
  }

  private boolean allDecoded(int c) {
    for (int b = layout.firstBlockOf(c); b <= layout.lastBlockOf(c); b++) {
      if (state[b] != DECODED) {
        return false;
      }
    }
    return true;
  }

  /** Frees block b's memory once every chunk it holds a part of is done. */
  private void freeFinished(int b) {
    if (state[b] != DECODED) {
      return;
    }
    for (int c = layout.firstChunkOf(b); c <= layout.lastChunkOf(b); c++) {
      if (!chunkDone[c]) {
        return;
      }
    }
    giveBack(b);
    state[b] = DONE;
  }

  /** Assembles chunk c from its decoded blocks, decodes and checks it, and hands it on. */
  private void finish(int c) throws IOException {
    int s = layout.symbolSize();
    int len = layout.storedLength(c);
    IndexEntry e = index.entry(layout.entryNumber(c));
    ByteBuffer[] bufs = buffers.get();
    if (bufs[0] == null || bufs[0].capacity() < len) {
      bufs[0] = ByteBuffer.allocateDirect(len);
    }
    if (bufs[1] == null || bufs[1].capacity() < e.logicalLength()) {
      bufs[1] = ByteBuffer.allocateDirect((int) e.logicalLength());
    }
    ByteBuffer stored = bufs[0].clear();
    synchronized (this) {
      if (!allDecoded(c)) {
        // A neighbour's failed hash sent a shared block back to be received again.
        chunkBusy[c] = false;
        return;
      }
      int first = layout.firstSymbol(c);
      for (int b = layout.firstBlockOf(c); b <= layout.lastBlockOf(c); b++) {
        int start = layout.blockStart(b);
        int from = Math.max(first, start);
        int to = Math.min(first + layout.symbolsOf(c), start + layout.blockK(b));
        int n = Math.min((to - from) * s, len - stored.position());
        stored.put(blocks[b].data(), (from - start) * s, n);
      }
    }
    stored.flip();
    ByteBuffer out = bufs[1].clear();
    try {
      Image.decode(e, c, stored, out, "multicast chunk " + c);
    } catch (ChunkDamagedException bad) {
      synchronized (this) {
        rejectedChunks++;
        chunkBusy[c] = false;
        for (int b = layout.firstBlockOf(c); b <= layout.lastBlockOf(c); b++) {
          if (state[b] == DECODED) {
            giveBack(b);
            state[b] = NEW;
            blocksMissing++;
          }
        }
      }
      return;
    }
    out.flip();
    sink.chunk(layout.entryNumber(c), e, out);
    synchronized (this) {
      chunkDone[c] = true;
      chunkBusy[c] = false;
      chunksDone++;
      storedDone += len;
      for (int b = layout.firstBlockOf(c); b <= layout.lastBlockOf(c); b++) {
        freeFinished(b);
      }
      if (chunksDone == layout.chunks()) {
        done.countDown();
      }
    }
  }

  private void fail(Exception e) {
    if (failure == null) {
      failure = e;
    }
    done.countDown();
  }

  /** Whether every chunk has been delivered. */
  public boolean isDone() {
    synchronized (this) {
      return chunksDone == layout.chunks();
    }
  }

  /**
   * Waits until every chunk is delivered or the sink failed; true when done.
   *
   * @throws IOException the sink or a decoder failed
   */
  public boolean await(long timeout, TimeUnit unit) throws IOException, InterruptedException {
    boolean over = done.await(timeout, unit);
    Exception f = failure;
    if (f != null) {
      throw f instanceof IOException io ? io : new IOException(f.getMessage(), f);
    }
    return over && isDone();
  }

  public synchronized Progress progress() {
    long expected = expectedBefore + (seenAny ? maxSeq - firstSeq + 1 : 0);
    return new Progress(
        chunksDone,
        layout.chunks(),
        storedDone,
        layout.storedBytes(),
        blocksMissing,
        authentic,
        expected,
        foreign,
        forged,
        malformed,
        overBudget,
        rejectedChunks,
        fullLoop);
  }

  /**
   * What would complete every block still missing, as ranges of the image's stored bytes, at most
   * {@code maxBytes} of them: for each block, just as many of its missing source symbols as it
   * lacks symbols (the parity it holds stands in for the rest).
   */
  public synchronized List<RepairRange> wanted(long maxBytes) {
    return wanted(maxBytes, false);
  }

  /**
   * Like {@link #wanted}, for the blocks this loop has gone past without completing them only:
   * begun (some of their symbols came) and {@link #PASSED_BLOCKS} or more blocks behind the newest
   * symbol seen. Fetched at once, they do not hold their chunks' other blocks in memory until the
   * next loop (which, with a few such chunks, filled the budget and lost the rest of the loop).
   */
  public synchronized List<RepairRange> passed(long maxBytes) {
    return wanted(maxBytes, true);
  }

  /**
   * Blocks behind the newest symbol seen beyond which a begun block gets nothing more this loop:
   * four interleave groups at the default depth (the client does not know the server's).
   */
  static final int PASSED_BLOCKS = 64;

  private List<RepairRange> wanted(long maxBytes, boolean passedOnly) {
    List<RepairRange> out = new ArrayList<>();
    long total = 0;
    int s = layout.symbolSize();
    int newest = newestPosition < 0 ? -1 : (int) (newestPosition % layout.blocks());
    for (int b = 0; b < layout.blocks() && total < maxBytes; b++) {
      if (state[b] >= DECODING) {
        continue;
      }
      if (passedOnly
          && (blocks[b] == null
              || newest < 0
              || Math.floorMod(newest - b, layout.blocks()) < PASSED_BLOCKS)) {
        continue;
      }
      int k = layout.blockK(b);
      int[] missing;
      if (blocks[b] == null) {
        missing = new int[k];
        for (int j = 0; j < k; j++) {
          missing[j] = j;
        }
      } else {
        missing = blocks[b].missingSources(k - blocks[b].count());
      }
      RepairRange last = null;
      for (int j : missing) {
        int sym = layout.blockStart(b) + j;
        int c = layout.chunkOfSymbol(sym);
        int off = (sym - layout.firstSymbol(c)) * s;
        int len = Math.min(s, layout.storedLength(c) - off);
        if (total + len > maxBytes) {
          break;
        }
        total += len;
        if (last != null
            && last.entryNumber() == layout.entryNumber(c)
            && last.chunkOffset() + last.length() == off) {
          last =
              new RepairRange(
                  last.entryNumber(), last.chunkOffset(), last.length() + len, last.fileOffset());
          out.set(out.size() - 1, last);
        } else {
          IndexEntry e = index.get(layout.entryNumber(c));
          last = new RepairRange(layout.entryNumber(c), off, len, e.payloadOffset() + off);
          out.add(last);
        }
      }
    }
    return out;
  }

  /**
   * Takes repair bytes fetched for {@code range} (its {@code length} bytes from {@code bytes}'
   * position). They enter their blocks as source symbols; the chunk hash still decides.
   */
  public void repaired(RepairRange range, ByteBuffer bytes) throws ImageFormatException {
    int c = layout.chunkOfEntry(range.entryNumber());
    int s = layout.symbolSize();
    if (c < 0
        || range.chunkOffset() % s != 0
        || range.length() <= 0
        || range.chunkOffset() + range.length() > layout.storedLength(c)
        || bytes.remaining() < range.length()) {
      throw new IllegalArgumentException("not a repair range of this stream: " + range);
    }
    synchronized (repairSymbol) {
      for (int off = 0; off < range.length(); off += s) {
        int n = Math.min(s, range.length() - off);
        repairSymbol.clear();
        repairSymbol.put(0, bytes, bytes.position() + off, n);
        for (int i = n; i < s; i++) {
          repairSymbol.put(i, (byte) 0);
        }
        int sym = layout.firstSymbol(c) + (range.chunkOffset() + off) / s;
        int b = layout.blockOf(sym);
        accept(b, sym - layout.blockStart(b), repairSymbol, true);
      }
    }
  }
}
