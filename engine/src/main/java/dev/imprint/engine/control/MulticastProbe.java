package dev.imprint.engine.control;

import dev.imprint.engine.job.Refusal;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.Enumeration;

/**
 * The interface a client joins a session's group on, and the one line said when nothing arrives
 * within a few seconds of joining (a switch, a firewall or the interface stands between the server
 * and this client). The wait itself is the receiver's ({@code MulticastChunks.awaitDatagram}), on
 * the socket that then receives the stream.
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
