package dev.imprint.engine.testing;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LAN of network namespaces for multicast tests: a bridge in the root namespace, a server
 * namespace and N client namespaces (more on demand, e.g. a rogue sender), each joined to the
 * bridge by a veth pair, with an address on one /24 and a 224.0.0.0/4 route. Loss per namespace
 * comes from an nftables input chain ({@code meta l4proto udp numgen random mod 100 < P drop}),
 * datagram by datagram (each bridge port segments offloaded batches, as a NIC does on the wire);
 * {@link #dropMulticast} drops every datagram to a group, as a switch with IGMP snooping and no
 * querier does. Names carry a random suffix, so parallel runs never collide; {@link #close} removes
 * everything, even after a failure half-way through building.
 */
public final class NetLab implements AutoCloseable {
  private final String id;
  private final String bridge;
  private final String prefix;
  private final Map<String, String> addresses = new LinkedHashMap<>();
  private final List<String> clients = new ArrayList<>();
  private final String server;
  private int next = 1;

  /** Skips the calling test unless root with ip and nft (fails under IMPRINT_REQUIRE_ALL). */
  public static void assumeAvailable() {
    Root.assume(Root.isRoot(), "needs root (network namespaces)");
    Root.assumeCommands("ip", "nft");
  }

  /** A LAN with a server namespace and {@code clientCount} client namespaces. */
  public static NetLab create(int clientCount) {
    NetLab lab = new NetLab();
    try {
      lab.build(clientCount);
      return lab;
    } catch (RuntimeException | Error e) {
      lab.close();
      throw e;
    }
  }

  private NetLab() {
    byte[] r = new byte[4];
    new SecureRandom().nextBytes(r);
    id = HexFormat.of().formatHex(r, 0, 3);
    bridge = "brmc" + id;
    // 10.A.B.0/24 with A in 64..191: unlikely to meet another lab or the host's own networks.
    prefix = "10." + (64 + (r[3] & 0x7f)) + "." + (r[0] & 0xff);
    server = "mcast-" + id + "-s";
  }

  private void build(int clientCount) {
    Cmd.run("ip", "link", "add", bridge, "type", "bridge", "mcast_snooping", "0");
    Cmd.run("ip", "link", "set", bridge, "up");
    join(server);
    for (int i = 1; i <= clientCount; i++) {
      String ns = "mcast-" + id + "-c" + i;
      join(ns);
      clients.add(ns);
    }
  }

  /** Adds a namespace to the LAN (e.g. a rogue sender) and returns its name. */
  public String add(String role) {
    String ns = "mcast-" + id + "-" + role;
    join(ns);
    return ns;
  }

  private void join(String ns) {
    int host = next++;
    String hostSide = "vm" + id + host;
    Cmd.run("ip", "netns", "add", ns);
    addresses.put(ns, prefix + "." + host);
    Cmd.run("ip", "link", "add", hostSide, "type", "veth", "peer", "name", "lab0", "netns", ns);
    Cmd.run("ip", "link", "set", hostSide, "master", bridge, "up");
    // The bridge's port cuts a sender's segmentation-offload batch (UDP_SEGMENT, up to 64
    // datagrams in one packet) into datagrams before it enters the namespace, as a real NIC does
    // on the wire: otherwise the namespace's loss rule would drop whole batches, not datagrams.
    Cmd.run("ip", "link", "set", hostSide, "gso_max_segs", "1");
    Cmd.run("ip", "-n", ns, "addr", "add", prefix + "." + host + "/24", "dev", "lab0");
    Cmd.run("ip", "-n", ns, "link", "set", "lo", "up");
    Cmd.run("ip", "-n", ns, "link", "set", "lab0", "up");
    Cmd.run("ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", "lab0");
  }

  public String server() {
    return server;
  }

  public List<String> clients() {
    return List.copyOf(clients);
  }

  /** The address of {@code ns} on the LAN. */
  public String address(String ns) {
    return addresses.get(ns);
  }

  /** The interface name inside every namespace. */
  public String interfaceName() {
    return "lab0";
  }

  /** The LAN as CIDR. */
  public String network() {
    return prefix + ".0/24";
  }

  /** {@code argv} run inside {@code ns}. */
  public String[] in(String ns, String... argv) {
    String[] out = new String[argv.length + 4];
    out[0] = "ip";
    out[1] = "netns";
    out[2] = "exec";
    out[3] = ns;
    System.arraycopy(argv, 0, out, 4, argv.length);
    return out;
  }

  /** Drops {@code percent} of the UDP datagrams arriving in {@code ns}, at random. */
  public void loss(String ns, int percent) {
    // numgen's values run 0..99: "< 100" is out of its range, so all is said plainly.
    rule(
        ns,
        percent >= 100
            ? "meta l4proto udp drop"
            : "meta l4proto udp numgen random mod 100 < " + percent + " drop");
  }

  /** Drops every datagram to a multicast group arriving in {@code ns}. */
  public void dropMulticast(String ns) {
    rule(ns, "ip daddr 224.0.0.0/4 drop");
  }

  private void rule(String ns, String rule) {
    Cmd.run(
        "ip",
        "netns",
        "exec",
        ns,
        "nft",
        "add table inet imprint_lab; add chain inet imprint_lab input { type filter hook input"
            + " priority 0 ; policy accept ; }; add rule inet imprint_lab input "
            + rule);
  }

  /** Removes every namespace (their veth ends go with them) and the bridge. */
  @Override
  public void close() {
    List<String> errors = new ArrayList<>();
    for (String ns : addresses.keySet()) {
      Cmd.Result r = Cmd.result("ip", "netns", "delete", ns);
      if (r.exitCode() != 0 && !r.stderr().contains("No such file")) {
        errors.add(ns + ": " + r.stderr().trim());
      }
    }
    Cmd.Result r = Cmd.result("ip", "link", "delete", bridge);
    if (r.exitCode() != 0 && !r.stderr().contains("Cannot find")) {
      errors.add(bridge + ": " + r.stderr().trim());
    }
    if (!errors.isEmpty()) {
      throw new IllegalStateException("cannot tear down the lab: " + errors);
    }
  }
}
