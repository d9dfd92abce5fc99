package dev.imprint.engine.control;

import dev.imprint.engine.job.Refusal;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.MembershipKey;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.Enumeration;

/**
 * Whether this network delivers a session's multicast at all: join the group and wait for any
 * datagram to its port. Nothing within a few seconds means a switch, a firewall or the interface
 * stands between the server and this client.
 */
public final class MulticastProbe {
  private MulticastProbe() {}

  /** The interface named {@code name}, or one that can join a group when null. */
  public static NetworkInterface networkInterface(String name) throws Refusal {
    try {
      if (name != null) {
        NetworkInterface n = NetworkInterface.getByName(name);
        if (n == null || !n.isUp()) {
          throw new Refusal(
              "--interface "
                  + name
                  + (n == null ? " does not exist" : " is down")
                  + ": see ip link for this machine's interfaces");
        }
        return n;
      }
      Enumeration<NetworkInterface> all = NetworkInterface.getNetworkInterfaces();
      NetworkInterface loopback = null;
      while (all.hasMoreElements()) {
        NetworkInterface n = all.nextElement();
        if (!n.isUp() || !n.supportsMulticast() || !n.inetAddresses().findAny().isPresent()) {
          continue;
        }
        if (n.isLoopback()) {
          loopback = n;
          continue;
        }
        return n;
      }
      return loopback;
    } catch (SocketException e) {
      throw new Refusal("cannot list network interfaces: " + e.getMessage());
    }
  }

  /** Joins {@code group} on {@code nif} for {@code port}; the caller reads and closes. */
  public static DatagramChannel join(InetAddress group, int port, NetworkInterface nif)
      throws IOException {
    DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
    try {
      ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      ch.bind(new InetSocketAddress(port));
      if (nif != null) {
        ch.setOption(StandardSocketOptions.IP_MULTICAST_IF, nif);
      }
      MembershipKey k = ch.join(group, nif);
      if (!k.isValid()) {
        throw new IOException("cannot join " + group.getHostAddress());
      }
      return ch;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Whether any datagram to {@code group}:{@code port} arrives within {@code wait}; {@code joined}
   * runs once the group is joined, before the wait (the server holds its stream until a client
   * listens).
   */
  public static boolean arrives(
      InetAddress group, int port, NetworkInterface nif, Duration wait, Runnable joined)
      throws IOException {
    try (DatagramChannel ch = join(group, port, nif);
        Selector sel = Selector.open()) {
      joined.run();
      ch.configureBlocking(false);
      ch.register(sel, SelectionKey.OP_READ);
      long deadline = System.nanoTime() + wait.toNanos();
      ByteBuffer b = ByteBuffer.allocate(65536);
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        sel.select(Math.max(1, left / 1_000_000));
        sel.selectedKeys().clear();
        b.clear();
        if (ch.receive(b) != null) {
          return true;
        }
      }
    }
  }

  /** The one line that says multicast did not arrive, and why that usually is. */
  public static String silence(String group, int port, NetworkInterface nif, Duration wait) {
    return "no multicast arrived from "
        + group
        + " port "
        + port
        + " within "
        + wait.toSeconds()
        + " s of joining on "
        + (nif == null ? "the default interface" : nif.getName())
        + ": likely IGMP snooping on a switch without a querier, a firewall dropping UDP port "
        + port
        + ", or the wrong network (--interface)";
  }
}
