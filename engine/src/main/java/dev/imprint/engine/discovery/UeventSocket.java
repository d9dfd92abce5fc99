package dev.imprint.engine.discovery;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.imprint.engine.socket.LibcSockets;
import java.io.Closeable;
import java.io.IOException;
import java.util.Optional;

/**
 * The kernel's uevent broadcast: a {@code NETLINK_KOBJECT_UEVENT} socket bound to multicast group 1
 * (kernel events; udev's re-broadcasts go to group 2). Receives time out every 50 ms, so the
 * reading thread can settle a burst on time and notice that it should stop.
 */
public final class UeventSocket implements Closeable {
  private static final int AF_NETLINK = 16;
  private static final int NETLINK_KOBJECT_UEVENT = 15;
  private static final int SO_RCVTIMEO = 20;
  private static final int SO_RCVBUFFORCE = 33;

  /** What one receive brought: an event, nothing yet, or lost events (rescan everything). */
  public sealed interface Received {
    record Event(Uevent event) implements Received {}

    record Nothing() implements Received {}

    record Overrun() implements Received {}
  }

  private final int fd;
  private final Memory buffer = new Memory(64 * 1024);
  private volatile boolean closed;

  private UeventSocket(int fd) {
    this.fd = fd;
  }

  /**
   * Opens and binds the socket; fails (e.g. in a container without netlink) with an IOException.
   */
  public static UeventSocket open() throws IOException {
    int fd;
    try {
      fd =
          LibcSockets.INSTANCE.socket(
              AF_NETLINK,
              LibcSockets.SOCK_DGRAM | LibcSockets.SOCK_CLOEXEC,
              NETLINK_KOBJECT_UEVENT);
    } catch (LastErrorException e) {
      throw new IOException(
          "cannot open the kernel's uevent socket (errno " + e.getErrorCode() + ")");
    }
    try {
      Memory addr = new Memory(12); // struct sockaddr_nl
      addr.clear();
      addr.setShort(0, (short) AF_NETLINK);
      addr.setInt(4, 0); // pid: let the kernel choose
      addr.setInt(8, 1); // groups: kernel events
      LibcSockets.INSTANCE.bind(fd, addr, 12);
      Memory timeout = new Memory(16); // struct timeval: 50 ms
      timeout.setLong(0, 0);
      timeout.setLong(8, 50_000);
      LibcSockets.INSTANCE.setsockopt(fd, LibcSockets.SOL_SOCKET, SO_RCVTIMEO, timeout, 16);
      Memory size = new Memory(4);
      size.setInt(0, 4 << 20); // bursts of partition events must not overrun it
      try {
        LibcSockets.INSTANCE.setsockopt(fd, LibcSockets.SOL_SOCKET, SO_RCVBUFFORCE, size, 4);
      } catch (LastErrorException notRoot) {
        // the default buffer; an overrun only costs a rescan
      }
      return new UeventSocket(fd);
    } catch (LastErrorException e) {
      LibcSockets.INSTANCE.close(fd);
      throw new IOException(
          "cannot bind the kernel's uevent socket (errno " + e.getErrorCode() + ")");
    }
  }

  /** Waits up to 50 ms for the next datagram. */
  public Received receive() throws IOException {
    if (closed) {
      throw new IOException("uevent socket closed");
    }
    long n;
    try {
      n = LibcSockets.INSTANCE.recv(fd, buffer, buffer.size(), 0);
    } catch (LastErrorException e) {
      return switch (e.getErrorCode()) {
        case LibcSockets.EAGAIN, LibcSockets.EINTR -> new Received.Nothing();
        case LibcSockets.ENOBUFS -> new Received.Overrun();
        default -> throw new IOException("uevent socket: errno " + e.getErrorCode());
      };
    }
    byte[] data = buffer.getByteArray(0, (int) n);
    Optional<Uevent> e = Uevent.parse(data, data.length);
    return e.<Received>map(Received.Event::new).orElseGet(Received.Nothing::new);
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      LibcSockets.INSTANCE.close(fd);
    }
  }
}
