package dev.imprint.engine.multicast;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.MembershipKey;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads a stream's datagrams from a multicast group on a dedicated thread and hands them to a
 * {@link Reception} on a second one, through a bounded queue: the socket is never blocked by
 * decoding or disk writes; what the queue cannot take is dropped (a later loop brings it again) and
 * counted. Datagrams of another session or image are dropped by the reading thread on their header.
 * The socket's receive buffer is sized for the rate (a quarter second of it) and read back; the
 * {@link Listener} hears what the kernel granted.
 */
public final class MulticastReceiver implements AutoCloseable {
  /** Told of the receiver's life. */
  public interface Listener {
    /**
     * The receive buffer asked for and what the kernel granted (Linux reports twice the usable
     * size; a grant below the request means net.core.rmem_max caps it).
     */
    default void receiveBuffer(int requested, int granted) {}

    /** The socket failed; the receiver stopped. */
    default void failed(Exception e) {}
  }

  /** Datagrams in flight between the two threads at most. */
  static final int QUEUE = 4096;

  private final Reception reception;
  private final DatagramChannel channel;
  private final MembershipKey membership;
  private final Listener listener;
  private final BlockingQueue<ByteBuffer> queue = new ArrayBlockingQueue<>(QUEUE);
  private final BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(QUEUE + 2);
  private final Thread reader;
  private final Thread handler;
  private final AtomicLong datagrams = new AtomicLong();
  private final java.util.concurrent.CountDownLatch first =
      new java.util.concurrent.CountDownLatch(1);
  private final AtomicLong overruns = new AtomicLong();
  private final int requested;
  private final int granted;
  private volatile boolean running = true;

  private MulticastReceiver(
      Reception reception,
      DatagramChannel channel,
      MembershipKey membership,
      Listener listener,
      int requested,
      int granted) {
    this.reception = reception;
    this.channel = channel;
    this.membership = membership;
    this.listener = listener;
    this.requested = requested;
    this.granted = granted;
    int size = Datagram.length(reception.layout().symbolSize());
    for (int i = 0; i < QUEUE + 2; i++) {
      free.add(ByteBuffer.allocateDirect(size + 1)); // +1: a longer datagram shows as too long
    }
    this.reader = new Thread(this::read, "imprint-mcast-recv");
    this.handler = new Thread(this::handle, "imprint-mcast-fec");
    reader.setDaemon(true);
    handler.setDaemon(true);
  }

  /**
   * Joins {@code group} on {@code networkInterface} and binds its port; {@code dataRate} (bytes per
   * second) sizes the receive buffer. Nothing is read before {@link #start}.
   */
  public static MulticastReceiver open(
      Reception reception,
      InetSocketAddress group,
      NetworkInterface networkInterface,
      long dataRate,
      Listener listener)
      throws IOException {
    if (!group.getAddress().isMulticastAddress()) {
      throw new IllegalArgumentException(group.getAddress() + " is not a multicast address");
    }
    DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
    try {
      ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      int want = (int) Math.min(Integer.MAX_VALUE / 2, Math.max(1 << 20, dataRate / 4));
      ch.setOption(StandardSocketOptions.SO_RCVBUF, want);
      int got = ch.getOption(StandardSocketOptions.SO_RCVBUF);
      // Bound to the group's address: datagrams to other groups on this port never arrive here.
      ch.bind(new InetSocketAddress(group.getAddress(), group.getPort()));
      MembershipKey key = ch.join(group.getAddress(), networkInterface);
      listener.receiveBuffer(want, got);
      return new MulticastReceiver(reception, ch, key, listener, want, got);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  public void start() {
    handler.start();
    reader.start();
  }

  /** Bytes of receive buffer asked for. */
  public int requestedBuffer() {
    return requested;
  }

  /** Bytes of receive buffer the kernel reports (Linux doubles what it grants). */
  public int grantedBuffer() {
    return granted;
  }

  /** Datagrams read from the socket. */
  public long datagrams() {
    return datagrams.get();
  }

  /**
   * Whether a datagram (of any session) arrives within {@code wait} of the start: a network that
   * delivers no multicast at all (a switch, a firewall, the wrong interface) shows here.
   */
  public boolean awaitDatagram(java.time.Duration wait) throws InterruptedException {
    return first.await(wait.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** This session's datagrams dropped because the decoder fell behind. */
  public long overruns() {
    return overruns.get();
  }

  private void read() {
    // Where datagrams go when every buffer is queued: read and dropped, the socket never stalls.
    ByteBuffer drop = ByteBuffer.allocateDirect(Datagram.length(reception.layout().symbolSize()));
    try {
      while (running) {
        ByteBuffer b = free.poll();
        boolean dropping = b == null;
        if (dropping) {
          b = drop;
        }
        b.clear();
        if (channel.receive(b) == null) {
          if (!dropping) {
            free.offer(b);
          }
          continue;
        }
        if (datagrams.incrementAndGet() == 1) {
          first.countDown();
        }
        if (dropping) {
          overruns.incrementAndGet();
          continue;
        }
        b.flip();
        // Read each time: a restarted server's new session replaces the keys (Reception.rekey).
        if (!Datagram.belongsTo(b, reception.keys())) {
          reception.offer(b); // counted as foreign, nothing more
          free.offer(b);
        } else if (!queue.offer(b)) {
          overruns.incrementAndGet();
          free.offer(b);
        }
      }
    } catch (AsynchronousCloseException e) {
      // closing
    } catch (IOException e) {
      if (running) {
        listener.failed(e);
      }
    }
  }

  private void handle() {
    try {
      while (running) {
        ByteBuffer b = queue.poll(200, TimeUnit.MILLISECONDS);
        if (b == null) {
          continue;
        }
        try {
          reception.offer(b);
        } finally {
          free.offer(b);
        }
      }
    } catch (InterruptedException e) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    running = false;
    try {
      membership.drop();
      channel.close();
      handler.interrupt();
      try {
        if (reader.getState() != Thread.State.NEW) {
          reader.join(5000);
        }
        if (handler.getState() != Thread.State.NEW) {
          handler.join(5000);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } finally {
      channel.close();
    }
  }
}
