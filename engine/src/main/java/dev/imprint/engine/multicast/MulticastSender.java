package dev.imprint.engine.multicast;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs the carousel on a multicast group from its own thread: reads and encodes the next group of
 * blocks (on all cores) while the current one goes out, paced by a token bucket that never exceeds
 * {@code Data Rate}. {@link #report} feeds the clients' reports to the parity policy (from the next
 * group on) and, when adaptive, to the AIMD rate controller. {@link #close} stops the thread and
 * closes the socket and pools.
 */
public final class MulticastSender implements AutoCloseable {
  /**
   * Where and how fast to send.
   *
   * @param group the multicast group and port
   * @param networkInterface the interface to send from, or null for the system's choice
   * @param ttl multicast TTL (1..255)
   * @param dataRate bytes per second of datagrams, never exceeded
   * @param clientDataRate a cap below {@code dataRate} for what clients can write, or 0
   * @param adaptiveRate whether reports lower and raise the rate (AIMD) below {@code dataRate}
   * @param loopback whether this host's own sockets receive the group (tests, one-box setups)
   * @param params symbols, blocks and parity bounds
   */
  public record Config(
      InetSocketAddress group,
      NetworkInterface networkInterface,
      int ttl,
      long dataRate,
      long clientDataRate,
      boolean adaptiveRate,
      boolean loopback,
      StreamParams params) {
    public Config {
      if (!group.getAddress().isMulticastAddress()) {
        throw new IllegalArgumentException(group.getAddress() + " is not a multicast address");
      }
      if (ttl < 1 || ttl > 255) {
        throw new IllegalArgumentException("the multicast TTL is 1..255, not " + ttl);
      }
      if (dataRate <= 0) {
        throw new IllegalArgumentException("the data rate is positive, not " + dataRate);
      }
    }
  }

  /** Told of the sender's life; called on the sender's thread. */
  public interface Listener {
    /** Loop {@code loop} (0, 1, ...) starts with its first datagram. */
    default void loopStarted(int loop) {}

    /** The sender stopped on an error (the socket, the image). */
    default void failed(Exception e) {}
  }

  /** Counters so far and the settings in force. */
  public record Stats(long datagrams, long bytes, int loop, long rate, int parity) {}

  private final Carousel carousel;
  private final StreamLayout layout;
  private final SessionKeys keys;
  private final Config config;
  private final Listener listener;
  private final SenderSocket socket;
  private final ByteBuffer batch;
  private final SourceSymbols symbols;
  private final Pacer pacer;

  /** The pacer's burst is Data Rate / 50: 20 ms of it. */
  private static final long BURST_PER_SECOND = 50;

  private final ParityPolicy parityPolicy;
  private final RateController rates;
  private final ForkJoinPool encoders;
  private final ExecutorService reader;
  private final Thread thread;
  private final AtomicLong datagrams = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private volatile int parity;
  private volatile int loop;
  private volatile boolean paused;
  private volatile boolean running = true;

  private MulticastSender(
      StreamLayout layout,
      StoredChunks chunks,
      SessionKeys keys,
      Config config,
      Listener listener,
      SenderSocket socket) {
    this.layout = layout;
    this.carousel = new Carousel(layout, config.params().interleave());
    this.keys = keys;
    this.config = config;
    this.listener = listener;
    this.socket = socket;
    this.batch =
        ByteBuffer.allocateDirect(
            socket.segments() * Datagram.length(config.params().symbolSize()));
    this.symbols = new SourceSymbols(layout, chunks);
    StreamParams p = config.params();
    this.parity = p.parity();
    this.parityPolicy = new ParityPolicy(p.minParity(), p.maxParity());
    this.rates = RateController.forCeiling(config.dataRate(), config.clientDataRate());
    long start = config.dataRate();
    if (config.clientDataRate() > 0) {
      start = Math.min(start, config.clientDataRate());
    }
    if (config.adaptiveRate()) {
      start = rates.start();
    }
    // A burst of 20 ms at Data Rate (at least 64 datagrams: parking finer than ~50 us is not
    // reliable): a sender thread that loses its core for a few ms, or waits for the next group,
    // catches up instead of losing that time for good (with 64 datagrams, 1.9 ms at 50 MB/s, a
    // loop took 7% longer than the rate allows).
    this.pacer =
        new Pacer(
            start,
            Math.max(64L * Datagram.length(p.symbolSize()), config.dataRate() / BURST_PER_SECOND));
    this.encoders =
        new ForkJoinPool(
            Runtime.getRuntime().availableProcessors(),
            pool -> {
              var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
              t.setName("imprint-mcast-encode-" + t.getPoolIndex());
              t.setDaemon(true);
              return t;
            },
            null,
            false);
    this.reader =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "imprint-mcast-read");
              t.setDaemon(true);
              return t;
            });
    this.thread = new Thread(this::run, "imprint-mcast-send");
    this.thread.setDaemon(true);
  }

  /**
   * Opens the socket for {@code config} and prepares the carousel over {@code layout}'s chunks;
   * nothing is sent before {@link #start}.
   */
  public static MulticastSender open(
      StreamLayout layout, StoredChunks chunks, SessionKeys keys, Config config, Listener listener)
      throws IOException {
    return open(layout, chunks, keys, config, listener, SEGMENTS);
  }

  /**
   * Datagrams per send: as many as the kernel takes at once, unless {@code
   * -Dimprint.multicast.segments=1} asks for one per send (a NIC whose offload misbehaves).
   */
  static final int SEGMENTS =
      Integer.getInteger("imprint.multicast.segments", SenderSocket.MAX_SEGMENTS);

  /** As {@link #open}, with at most {@code segments} datagrams per send. */
  static MulticastSender open(
      StreamLayout layout,
      StoredChunks chunks,
      SessionKeys keys,
      Config config,
      Listener listener,
      int segments)
      throws IOException {
    if (layout.symbolSize() != config.params().symbolSize()) {
      throw new IllegalArgumentException("the layout and the parameters differ in symbol size");
    }
    SenderSocket socket =
        SenderSocket.open(
            config.group(),
            config.networkInterface(),
            config.ttl(),
            config.loopback(),
            4 << 20,
            Datagram.length(layout.symbolSize()),
            segments);
    try {
      return new MulticastSender(layout, chunks, keys, config, listener, socket);
    } catch (RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  public void start() {
    thread.start();
  }

  /** Holds the stream between groups (no client), or lets it go on. */
  public void setPaused(boolean paused) {
    this.paused = paused;
    if (!paused) {
      synchronized (this) {
        notifyAll();
      }
    }
  }

  /**
   * The clients' latest reports: parity for the next loop follows their loss; the rate, when
   * adaptive, follows their loss and write rates now.
   */
  public void report(List<ClientReport> reports) {
    parity = parityPolicy.parity(config.params().blockSymbols(), reports, parity);
    if (config.adaptiveRate()) {
      int size = config.params().symbolSize();
      int k = config.params().blockSymbols();
      double wirePerByte = (double) Datagram.length(size) / size * (k + parity) / k;
      boolean slow = rates.slowStart();
      pacer.setRate(rates.next(pacer.rate(), reports, wirePerByte));
      if (slow && !rates.slowStart()) {
        parityPolicy.forget();
      }
    }
  }

  /** Sets the rate directly (fixed-rate operation), capped by {@code Data Rate}. */
  public void setRate(long bytesPerSecond) {
    pacer.setRate(Math.min(bytesPerSecond, config.dataRate()));
  }

  /** Datagrams per send now (1 where the kernel or the device refused segmentation). */
  public int segments() {
    return socket.segments();
  }

  public Stats stats() {
    return new Stats(datagrams.get(), bytes.get(), loop, pacer.rate(), parity);
  }

  public Carousel carousel() {
    return carousel;
  }

  private void run() {
    Emitter emitter = new Emitter(carousel, keys);
    EncodedGroup[] bufs = {new EncodedGroup(), new EncodedGroup()};
    try {
      if (carousel.groups() == 0) {
        return;
      }
      CompletableFuture<EncodedGroup> next = prepare(bufs[0], 0, 0, parity, 0);
      int which = 0;
      // The most parity any group of the current loop got: the next loop's parity indices start
      // past all of them.
      int loopParity = 0;
      while (running) {
        EncodedGroup cur = next.get();
        // Plan the group after this one and read and encode it while this one goes out. Each
        // group takes the parity the latest reports call for: a stream that starts with more
        // parity than the clients need sheds it within a second, not at the end of a loop.
        loopParity = Math.max(loopParity, cur.parity);
        int nl = cur.loop;
        int ng = cur.group + 1;
        long nr = cur.rotation;
        if (ng == carousel.groups()) {
          nl++;
          ng = 0;
          nr += loopParity;
          loopParity = 0;
        }
        which ^= 1;
        next = prepare(bufs[which], nl, ng, parity, nr);
        awaitResume();
        if (cur.group == 0) {
          loop = cur.loop;
          listener.loopStarted(cur.loop);
        }
        send(cur, emitter);
      }
    } catch (InterruptedException | ClosedByInterruptException e) {
      // closing
    } catch (ExecutionException e) {
      if (running) {
        listener.failed(e.getCause() instanceof Exception x ? x : e);
      }
    } catch (Exception e) {
      if (running) {
        listener.failed(e);
      }
    }
  }

  private CompletableFuture<EncodedGroup> prepare(
      EncodedGroup g, int loop, int group, int parity, long rotation) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            g.prepare(carousel, symbols, encoders, loop, group, parity, rotation);
            return g;
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        },
        reader);
  }

  /**
   * Sends a group's datagrams, as many at a time as the socket takes (laid end to end in {@link
   * #batch}), each batch paced as a whole; the group's last batch goes before the next group.
   */
  private void send(EncodedGroup g, Emitter emitter) throws Exception {
    int len = Datagram.length(layout.symbolSize());
    batch.clear();
    emitter.emit(
        g,
        d -> {
          if (!running) {
            throw new InterruptedException();
          }
          batch.put(d);
          if (batch.position() + len > batch.capacity()
              || batch.position() / len >= socket.segments()) {
            flush(len);
          }
        });
    flush(len);
  }

  private void flush(int len) throws Exception {
    int n = batch.position();
    if (n == 0) {
      return;
    }
    pacer.acquire(n);
    socket.send(batch.flip());
    batch.clear();
    datagrams.addAndGet(n / len);
    bytes.addAndGet(n);
  }

  private synchronized void awaitResume() throws InterruptedException {
    while (paused && running) {
      wait(200);
    }
  }

  @Override
  public void close() throws IOException {
    running = false;
    thread.interrupt();
    synchronized (this) {
      notifyAll();
    }
    try {
      if (thread.isAlive() || thread.getState() != Thread.State.NEW) {
        thread.join(10_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      reader.shutdownNow();
      encoders.shutdownNow();
      try {
        reader.awaitTermination(5, TimeUnit.SECONDS);
        encoders.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      socket.close();
    }
  }
}
