package dev.imprint.engine.multicast;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.imprint.engine.device.LibC;
import dev.imprint.engine.testing.Cmd;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Two network namespaces joined by a veth pair, a sender's and a receiver's, with a multicast route
 * on each side and optional random loss on the receiver's input (nftables). Names carry a random
 * suffix so parallel runs never collide. Sockets are opened inside a namespace by a thread that
 * enters it ({@link #in}); a socket stays in the namespace it was made in.
 */
final class TwoHostLan implements AutoCloseable {
  private static final int CLONE_NEWNET = 0x40000000;

  interface NetNs extends Library {
    NetNs INSTANCE = Native.load("c", NetNs.class);

    int setns(int fd, int nstype) throws LastErrorException;
  }

  final String sender;
  final String receiver;
  final String senderIf;
  final String receiverIf;

  TwoHostLan() {
    String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20, 1 << 24));
    sender = "fecS-" + id;
    receiver = "fecR-" + id;
    senderIf = "fvs" + id;
    receiverIf = "fvr" + id;
    int net = ThreadLocalRandom.current().nextInt(1, 250);
    try {
      Cmd.run("ip", "netns", "add", sender);
      Cmd.run("ip", "netns", "add", receiver);
      Cmd.run(
          "ip",
          "link",
          "add",
          senderIf,
          "netns",
          sender,
          "type",
          "veth",
          "peer",
          "name",
          receiverIf,
          "netns",
          receiver);
      setUp(sender, senderIf, "10.231." + net + ".1/24");
      // The sender's device segments an offloaded batch (UDP_SEGMENT) into datagrams, as a NIC
      // does on the wire; else the receiver's loss rule would drop whole batches at once.
      Cmd.run("ip", "-n", sender, "link", "set", senderIf, "gso_max_segs", "1");
      setUp(receiver, receiverIf, "10.231." + net + ".2/24");
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private static void setUp(String ns, String dev, String addr) {
    Cmd.run("ip", "-n", ns, "addr", "add", addr, "dev", dev);
    Cmd.run("ip", "-n", ns, "link", "set", dev, "up");
    Cmd.run("ip", "-n", ns, "link", "set", "lo", "up");
    Cmd.run("ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", dev);
  }

  /** Drops {@code percent}% of the UDP datagrams the receiver's namespace takes in. */
  void loss(int percent) {
    nft("add", "table", "inet", "fecloss");
    nft("add", "chain", "inet", "fecloss", "input", "{ type filter hook input priority 0 ; }");
    nft(
        "add",
        "rule",
        "inet",
        "fecloss",
        "input",
        "meta",
        "l4proto",
        "udp",
        "numgen",
        "random",
        "mod",
        "100",
        "<",
        String.valueOf(percent),
        "drop");
  }

  private void nft(String... args) {
    java.util.List<String> argv =
        new java.util.ArrayList<>(java.util.List.of("ip", "netns", "exec", receiver, "nft"));
    argv.addAll(java.util.List.of(args));
    Cmd.run(argv.toArray(String[]::new));
  }

  /** Runs {@code work} on a thread that has entered namespace {@code ns}. */
  static <T> T in(String ns, Callable<T> work) throws Exception {
    FutureTask<T> task =
        new FutureTask<>(
            () -> {
              int fd = LibC.INSTANCE.open("/var/run/netns/" + ns, 0);
              try {
                NetNs.INSTANCE.setns(fd, CLONE_NEWNET);
              } finally {
                LibC.INSTANCE.close(fd);
              }
              return work.call();
            });
    Thread t = new Thread(task, "netns-" + ns);
    t.start();
    try {
      return task.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
  }

  @Override
  public void close() {
    Cmd.result("ip", "netns", "del", sender);
    Cmd.result("ip", "netns", "del", receiver);
  }
}
