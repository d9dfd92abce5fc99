package dev.imprint.cli;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Random;

/**
 * A hostile sender for tests, run in its own namespace: joins a session's group and, for a while,
 * sends every datagram it captures again with bytes of its payload altered, plus random datagrams
 * of a datagram's size, to the same group and port.
 *
 * <p>Usage: {@code RogueSender GROUP PORT SECONDS INTERFACE}
 */
public final class RogueSender {
  private RogueSender() {}

  public static void main(String[] args) throws Exception {
    InetAddress group = InetAddress.getByName(args[0]);
    int port = Integer.parseInt(args[1]);
    long until = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
    NetworkInterface nif = NetworkInterface.getByName(args[3]);
    InetSocketAddress to = new InetSocketAddress(group, port);
    Random random = new Random(7);
    long captured = 0;
    long sent = 0;
    try (DatagramChannel in = DatagramChannel.open(StandardProtocolFamily.INET);
        DatagramChannel out = DatagramChannel.open(StandardProtocolFamily.INET)) {
      in.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      in.bind(new InetSocketAddress(port));
      in.join(group, nif);
      in.configureBlocking(false);
      out.setOption(StandardSocketOptions.IP_MULTICAST_IF, nif);
      out.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, false);
      ByteBuffer b = ByteBuffer.allocate(65536);
      byte[] noise = new byte[1452];
      while (System.nanoTime() < until) {
        b.clear();
        if (in.receive(b) != null) {
          b.flip();
          captured++;
          if (b.remaining() > 40) {
            // The header stays (it passes the session check); the payload is altered.
            int at = 36 + random.nextInt(b.remaining() - 36);
            b.put(at, (byte) (b.get(at) ^ (1 + random.nextInt(255))));
          }
          out.send(b, to);
          sent++;
        }
        random.nextBytes(noise);
        out.send(ByteBuffer.wrap(noise), to);
        sent++;
        if (sent % 16 == 0) {
          Thread.sleep(1);
        }
      }
    }
    System.out.println("captured " + captured + ", sent " + sent);
  }
}
