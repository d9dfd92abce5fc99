package dev.imprint.engine.pipeline;

import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.multicast.MulticastReceiver;
import dev.imprint.engine.multicast.Reception;
import dev.imprint.engine.multicast.RepairRange;
import dev.imprint.engine.multicast.SessionKeys;
import dev.imprint.engine.multicast.StreamLayout;
import dev.imprint.engine.multicast.StreamParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Chunks of an Imprint image received from a multicast carousel (docs/PROTOCOL.md): the header and
 * index come from {@code image} (read over the control channel), the data chunks from the stream,
 * each decoded and checked against its SHA-256 by {@link Reception} before it is handed on, in
 * whatever order they complete. After a full loop what is still missing is fetched from {@code
 * image}'s input (the control channel's ranges), up to the repair budget. Zero and unallocated
 * ranges come from the index. The carousel cannot be back-pressured: while the pipeline is busy,
 * the reception drops what it cannot take, and a later loop brings it again.
 */
public final class MulticastChunks implements ChunkSupply {
  /** Memory the reception may hold in partly received FEC blocks. */
  private static final long RECEPTION_MEMORY = 256L << 20;

  private static final long REPAIR_STEP = 4L << 20;

  /** Repair ranges fetched at the same time over the control channel. */
  private static final int REPAIR_FETCHES = 4;

  /** Silence on the stream after which the client asks the server for its session again. */
  private static final long REJOIN_AFTER_NANOS = TimeUnit.SECONDS.toNanos(3);

  private static final long REJOIN_AGAIN_NANOS = TimeUnit.SECONDS.toNanos(10);

  /**
   * Asks the server for its session again: the new keys when it now runs another session of the
   * same image (it restarted), else null.
   */
  @FunctionalInterface
  public interface Rejoin {
    SessionKeys session() throws IOException;
  }

  private volatile Rejoin rejoin = () -> null;

  private final Image image;
  private final BufferPool pool;
  private final BlockingQueue<Chunk> ready = new ArrayBlockingQueue<>(8);
  private final ExecutorService decoders;
  private final ExecutorService waiter;
  private final Reception reception;
  private final MulticastReceiver receiver;
  private final Thread repairer;
  private final long repairBudget;
  private final Duration timeout;
  private final AtomicLong repairedBytes = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();

  /** Time the decoders waited for the writers to take a chunk. */
  private final AtomicLong blockedNanos = new AtomicLong();

  private long heldBlocked;
  private long heldOverruns;
  private long heldAt = System.nanoTime();
  private final int dataChunks;
  private volatile long lastProgress = System.nanoTime();
  private volatile boolean closed;
  private volatile java.io.Closeable also;

  /**
   * Joins the stream at once (datagrams are taken from now on).
   *
   * @param group the session's group and UDP port
   * @param repairBudget stored bytes this client may fetch over the control channel, in all
   * @param timeout fail after this long without a new chunk (zero: never)
   * @param receiveBuffer told the receive buffer asked for and granted
   */
  public MulticastChunks(
      Image image,
      SessionKeys keys,
      int symbolSize,
      int blockSymbols,
      InetSocketAddress group,
      NetworkInterface nif,
      long dataRate,
      long repairBudget,
      Duration timeout,
      Consumer<String> receiveBuffer)
      throws IOException {
    this.image = image;
    this.repairBudget = repairBudget;
    this.timeout = timeout;
    this.pool = new BufferPool(image.header().chunkSize());
    int n = 0;
    for (IndexEntry e : image.metadata().index()) {
      if (e.kind() == RangeKind.DATA) {
        n++;
      }
    }
    this.dataChunks = n;
    // The client only lays the stream out; parity bounds are the sender's.
    StreamLayout layout =
        StreamLayout.of(
            image.metadata().index(), new StreamParams(symbolSize, blockSymbols, 1, 0, 0, 0));
    int cores = Runtime.getRuntime().availableProcessors();
    this.decoders = Executors.newFixedThreadPool(cores, daemon("imprint-mcast-decode"));
    this.waiter = Executors.newSingleThreadExecutor(daemon("imprint-mcast-take"));
    this.reception =
        new Reception(
            layout, image.metadata().index(), keys, this::deliver, decoders, RECEPTION_MEMORY);
    try {
      this.receiver =
          MulticastReceiver.open(
              reception,
              group,
              nif,
              dataRate,
              new MulticastReceiver.Listener() {
                @Override
                public void receiveBuffer(int requested, int granted) {
                  // Linux reports twice the usable size.
                  if (granted < requested) {
                    receiveBuffer.accept(
                        "the receive buffer is "
                            + granted / 2
                            + " bytes, not the "
                            + requested
                            + " asked for: raise net.core.rmem_max for fewer losses");
                  }
                }
              });
    } catch (IOException | RuntimeException e) {
      decoders.shutdownNow();
      waiter.shutdownNow();
      throw e;
    }
    this.repairer = new Thread(this::repairLoop, "imprint-mcast-repair");
    repairer.setDaemon(true);
    receiver.start();
    repairer.start();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** Closes {@code c} (first) when this supply is closed: the client's reports. */
  public void alsoClosing(java.io.Closeable c) {
    also = c;
  }

  public Image image() {
    return image;
  }

  /** Datagrams received so far, of any session (a network that delivers nothing shows 0). */
  public long datagrams() {
    return receiver.datagrams();
  }

  public Reception.Progress progress() {
    return reception.progress();
  }

  /**
   * Whether writing or decoding held the reception back since the last call: the decoders waited
   * for the writers a tenth of the time or more, or the receiver dropped datagrams the decoders
   * could not take. Only then is what this client writes all it can take (the server's rate follows
   * it); otherwise it writes what arrives.
   */
  public synchronized boolean heldBack() {
    long now = System.nanoTime();
    long blocked = blockedNanos.get();
    long overruns = receiver.overruns();
    boolean held = blocked - heldBlocked >= (now - heldAt) / 10 || overruns > heldOverruns;
    heldBlocked = blocked;
    heldOverruns = overruns;
    heldAt = now;
    return held;
  }

  /** Stored bytes fetched over the control channel so far. */
  public long repairedBytes() {
    return repairedBytes.get();
  }

  /** A checked chunk from the reception: copied into a pooled buffer and queued. */
  private void deliver(int entryNumber, IndexEntry e, ByteBuffer decoded) throws IOException {
    ByteBuffer out = pool.acquire();
    out.limit((int) e.logicalLength());
    out.put(decoded.duplicate());
    out.flip();
    Chunk c = Chunk.data(e.logicalOffset(), out, Xxh64.of(out), pool);
    try {
      if (!ready.offer(c)) {
        long t0 = System.nanoTime();
        ready.put(c);
        blockedNanos.addAndGet(System.nanoTime() - t0);
      }
    } catch (InterruptedException x) {
      pool.release(out);
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
    delivered.incrementAndGet();
    lastProgress = System.nanoTime();
  }

  /** How to find the stream again when it falls silent (a restarted server); none by default. */
  public void rejoinWith(Rejoin r) {
    this.rejoin = r;
  }

  /**
   * A stream silent for a few seconds may have a new session (its server restarted): the client
   * shakes hands again and takes the new session's datagrams, keeping what it has.
   */
  private void rejoinIfSilent() {
    long authentic = reception.progress().authentic();
    long now = System.nanoTime();
    if (authentic != lastAuthentic) {
      lastAuthentic = authentic;
      lastAuthenticNanos = now;
      return;
    }
    if (now - lastAuthenticNanos < REJOIN_AFTER_NANOS) {
      return;
    }
    // While it stays silent, ask again every 10 s (each handshake is a client on the server).
    lastAuthenticNanos = now + REJOIN_AGAIN_NANOS - REJOIN_AFTER_NANOS;
    try {
      SessionKeys next = rejoin.session();
      if (next != null && next.sessionId() != reception.keys().sessionId()) {
        reception.rekey(next);
        lastAuthenticNanos = now;
        org.slf4j.LoggerFactory.getLogger(MulticastChunks.class)
            .info("the server runs a new session {}: going on with it", next.sessionId());
      }
    } catch (IOException | RuntimeException e) {
      // The server may still be down: the next silent interval tries again.
      org.slf4j.LoggerFactory.getLogger(MulticastChunks.class)
          .debug("asking for the session again: {}", e.toString());
    }
  }

  private long lastAuthentic;
  private long lastAuthenticNanos = System.nanoTime();

  /** After a full loop, what is still missing comes over the control channel, within budget. */
  private void repairLoop() {
    ExecutorService fetchers =
        Executors.newFixedThreadPool(REPAIR_FETCHES, daemon("imprint-repair"));
    boolean fetched = false;
    try {
      while (!closed && !reception.isDone()) {
        try {
          if (!fetched) {
            Thread.sleep(500);
          }
          fetched = false;
          rejoinIfSilent();
          long left = repairBudget - repairedBytes.get();
          if (left <= 0) {
            continue;
          }
          // Blocks the stream went past without completing come at once; after a full loop,
          // everything still missing. The ranges are small (a few symbols each): fetched several
          // at a time, the repair is not one round trip per range.
          long step = Math.min(left, REPAIR_STEP);
          List<RepairRange> wanted =
              reception.progress().fullLoopSeen() ? reception.wanted(step) : reception.passed(step);
          List<CompletableFuture<ByteBuffer>> bodies = new ArrayList<>();
          for (RepairRange r : wanted) {
            bodies.add(CompletableFuture.supplyAsync(() -> fetch(r), fetchers));
          }
          for (int i = 0; i < wanted.size(); i++) {
            reception.repaired(wanted.get(i), bodies.get(i).join());
            repairedBytes.addAndGet(wanted.get(i).length());
            fetched = true;
          }
        } catch (InterruptedException e) {
          return;
        } catch (java.util.concurrent.CompletionException e) {
          org.slf4j.LoggerFactory.getLogger(MulticastChunks.class)
              .warn("repair over the control channel failed: {}", e.getCause().toString());
        } catch (IOException | RuntimeException e) {
          // Repair is an extra: the stream's next loops bring the same bytes.
          org.slf4j.LoggerFactory.getLogger(MulticastChunks.class)
              .warn("repair over the control channel failed: {}", e.toString());
        }
      }
    } finally {
      fetchers.shutdownNow();
    }
  }

  private ByteBuffer fetch(RepairRange r) {
    try {
      ByteBuffer b = ByteBuffer.allocate(r.length());
      image.input().readFully(b, r.fileOffset());
      return b.flip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next checked chunk; fails when the reception failed or nothing came for the timeout. */
  private Chunk take() {
    while (true) {
      Chunk c;
      try {
        c = ready.poll(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UncheckedIOException(new IOException("interrupted"));
      }
      if (c != null) {
        return c;
      }
      if (closed) {
        throw new UncheckedIOException(new IOException("the multicast reception was closed"));
      }
      try {
        reception.await(0, TimeUnit.SECONDS);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (!timeout.isZero() && System.nanoTime() - lastProgress > timeout.toNanos()) {
        throw new UncheckedIOException(
            new IOException(
                "no new data from the multicast stream for "
                    + timeout.toSeconds()
                    + " s (--timeout): the server stopped, or this network lost the stream"));
      }
    }
  }

  @Override
  public String description() {
    return image.description();
  }

  @Override
  public long logicalSize() {
    return image.header().logicalSize();
  }

  @Override
  public int chunkSize() {
    return image.header().chunkSize();
  }

  @Override
  public long dataBytes() {
    long n = 0;
    for (IndexEntry e : image.metadata().index()) {
      if (e.kind() == RangeKind.DATA) {
        n += e.logicalLength();
      }
    }
    return n;
  }

  @Override
  public void limitBuffers(int buffers) {
    pool.limit(buffers);
  }

  @Override
  public Source<Chunk, NotUsed> chunks(int parallelism, Executor cpu) {
    List<Chunk> empty = new ArrayList<>();
    for (IndexEntry e : image.metadata().index()) {
      if (e.kind() != RangeKind.DATA) {
        empty.add(Chunk.empty(e.logicalOffset(), e.logicalLength(), e.kind()));
      }
    }
    Source<Chunk, NotUsed> data =
        Source.range(1, Math.max(1, dataChunks))
            .take(dataChunks)
            .mapAsync(1, i -> CompletableFuture.supplyAsync(this::take, waiter));
    return pool.closingAfter(Source.from(empty).concat(data));
  }

  @Override
  public void close() throws IOException {
    try {
      stopReceiving();
    } finally {
      image.close();
      Reception.Progress p = reception.progress();
      org.slf4j.LoggerFactory.getLogger(MulticastChunks.class)
          .info(
              "multicast reception ended: {} of {} chunks, {} datagrams read, {} dropped by the"
                  + " decoder, {} bytes repaired over the control channel",
              p.chunksDone(),
              p.chunks(),
              receiver.datagrams(),
              receiver.overruns(),
              repairedBytes.get());
    }
  }

  /**
   * Whether any datagram arrives within {@code wait} of joining (the constructor joined): the same
   * socket then goes on receiving, so nothing the stream sends after the join is missed.
   */
  public boolean awaitDatagram(Duration wait) throws IOException {
    try {
      return receiver.awaitDatagram(wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting for the stream");
    }
  }

  /**
   * Leaves the group and stops every thread of this supply, but not the image: for a client that
   * goes on over the control channel (no multicast arrived). Nothing is read from this supply
   * afterwards.
   */
  public Image stopReceiving() throws IOException {
    closed = true;
    repairer.interrupt();
    try {
      if (also != null) {
        also.close();
      }
      receiver.close();
    } finally {
      decoders.shutdownNow();
      waiter.shutdownNow();
      Chunk c;
      while ((c = ready.poll()) != null) {
        c.release();
      }
    }
    return image;
  }
}
