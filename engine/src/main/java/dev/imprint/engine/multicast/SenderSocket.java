package dev.imprint.engine.multicast;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.imprint.engine.socket.LibcSockets;
import java.io.Closeable;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The multicast sender's socket, opened through libc so it can use UDP segmentation offload ({@code
 * UDP_SEGMENT}, Linux 4.18): one send carries up to {@link #MAX_SEGMENTS} datagrams of one size
 * laid end to end, and the kernel cuts them apart as late as it can (in the NIC, or where a local
 * receiver's socket takes them). Measured on a bridge with three receivers at 50 MB/s, the
 * machine's CPU for the stream fell from 0.67 to 0.19 cores (docs/BENCHMARKS.md). Where the kernel
 * or the device refuses it, each datagram goes out alone on the same socket.
 */
final class SenderSocket implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(SenderSocket.class);

  /** Datagrams per send: 44 of the 1468-byte datagrams fill a UDP payload (64 KiB) best. */
  static final int MAX_SEGMENTS = 64;

  private static final int MAX_PAYLOAD = 65_507;
  private static final int AF_INET = 2;
  private static final int SO_SNDBUF = 7;
  private static final int SO_SNDTIMEO = 21;
  private static final int IPPROTO_IP = 0;
  private static final int IP_MULTICAST_IF = 32;
  private static final int IP_MULTICAST_TTL = 33;
  private static final int IP_MULTICAST_LOOP = 34;
  private static final int SOL_UDP = 17;
  private static final int UDP_SEGMENT = 103;

  private final int fd;
  private final int datagram;
  private volatile int segments;
  private volatile boolean closed;

  private SenderSocket(int fd, int datagram, int segments) {
    this.fd = fd;
    this.datagram = datagram;
    this.segments = segments;
  }

  /**
   * A socket connected to {@code group} for datagrams of {@code datagram} bytes, sending up to
   * {@code segments} of them at once (1: one per send, no offload asked for).
   */
  static SenderSocket open(
      InetSocketAddress group,
      NetworkInterface networkInterface,
      int ttl,
      boolean loopback,
      int sendBuffer,
      int datagram,
      int segments)
      throws IOException {
    if (!(group.getAddress() instanceof Inet4Address v4)) {
      throw new IOException("the multicast group " + group + " is not an IPv4 address");
    }
    LibcSockets net = LibcSockets.INSTANCE;
    int fd;
    try {
      fd = net.socket(AF_INET, LibcSockets.SOCK_DGRAM | LibcSockets.SOCK_CLOEXEC, 0);
    } catch (LastErrorException e) {
      throw new IOException("cannot open a UDP socket (errno " + e.getErrorCode() + ")");
    }
    try {
      Memory v = new Memory(16);
      setInt(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl, v, "the multicast TTL");
      setInt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, loopback ? 1 : 0, v, "multicast loopback");
      if (networkInterface != null) {
        // struct ip_mreqn: group (unused here), local address (any), interface index.
        v.clear(12);
        v.setInt(8, networkInterface.getIndex());
        set(fd, IPPROTO_IP, IP_MULTICAST_IF, v, 12, "the interface " + networkInterface.getName());
      }
      setInt(fd, LibcSockets.SOL_SOCKET, SO_SNDBUF, sendBuffer, v, "the send buffer");
      // A send that waits for buffer space wakes up to notice a close.
      v.setLong(0, 0);
      v.setLong(8, 200_000);
      set(fd, LibcSockets.SOL_SOCKET, SO_SNDTIMEO, v, 16, "the send timeout");
      int n = Math.max(1, Math.min(segments, Math.min(MAX_SEGMENTS, MAX_PAYLOAD / datagram)));
      if (n > 1) {
        try {
          v.setInt(0, datagram);
          net.setsockopt(fd, SOL_UDP, UDP_SEGMENT, v, 4);
        } catch (LastErrorException e) {
          log.info(
              "UDP segmentation offload unavailable (errno {}): one datagram per send",
              e.getErrorCode());
          n = 1;
        }
      }
      Memory addr = new Memory(16); // struct sockaddr_in
      addr.clear();
      addr.setShort(0, (short) AF_INET);
      addr.setByte(2, (byte) (group.getPort() >> 8));
      addr.setByte(3, (byte) group.getPort());
      addr.write(4, v4.getAddress(), 0, 4);
      try {
        net.connect(fd, addr, 16);
      } catch (LastErrorException e) {
        throw new IOException(
            "cannot send to " + group + " (errno " + e.getErrorCode() + "): check the route");
      }
      return new SenderSocket(fd, datagram, n);
    } catch (IOException | RuntimeException e) {
      net.close(fd);
      throw e;
    }
  }

  private static void setInt(int fd, int level, int name, int value, Memory v, String what)
      throws IOException {
    v.setInt(0, value);
    set(fd, level, name, v, 4, what);
  }

  private static void set(int fd, int level, int name, Memory v, int len, String what)
      throws IOException {
    try {
      LibcSockets.INSTANCE.setsockopt(fd, level, name, v, len);
    } catch (LastErrorException e) {
      throw new IOException(
          "cannot set " + what + " on the sender's socket (errno " + e.getErrorCode() + ")");
    }
  }

  /** Datagrams one {@link #send} may carry now. */
  int segments() {
    return segments;
  }

  /**
   * Sends the datagrams in {@code batch} (position 0 to limit, whole datagrams of the socket's
   * size, at most {@link #segments} of them). Should the device refuse the offload, they go out one
   * by one, and so does everything after.
   */
  void send(ByteBuffer batch) throws IOException {
    Pointer base = Native.getDirectBufferPointer(batch);
    int len = batch.limit();
    if (segments > 1 && len > datagram) {
      try {
        sendOne(base, len);
        return;
      } catch (java.nio.channels.ClosedByInterruptException e) {
        throw e; // closing, not a refusal
      } catch (IOException e) {
        // EIO: the device can't checksum segments; the rest of the stream goes unsegmented.
        log.warn(
            "UDP segmentation offload refused ({}): one datagram per send from now",
            e.getMessage());
        segments = 1;
      }
    }
    for (int at = 0; at < len; at += datagram) {
      sendOne(base.share(at), Math.min(datagram, len - at));
    }
  }

  private void sendOne(Pointer p, int len) throws IOException {
    while (true) {
      if (closed || Thread.currentThread().isInterrupted()) {
        throw new java.nio.channels.ClosedByInterruptException();
      }
      try {
        LibcSockets.INSTANCE.send(fd, p, len, 0);
        return;
      } catch (LastErrorException e) {
        int err = e.getErrorCode();
        if (err == LibcSockets.EAGAIN || err == LibcSockets.EINTR || err == LibcSockets.ENOBUFS) {
          // Buffer full or a signal: the pacer keeps the average, so try again.
          if (err == LibcSockets.ENOBUFS) {
            Thread.onSpinWait();
          }
          continue;
        }
        throw new IOException("sending to the multicast group failed (errno " + err + ")");
      }
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      LibcSockets.INSTANCE.close(fd);
    }
  }
}
