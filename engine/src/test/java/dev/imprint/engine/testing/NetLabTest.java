package dev.imprint.engine.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The lab itself: namespaces reach each other over the bridge, loss drops, teardown is total. */
class NetLabTest {
  @Test
  void buildsALanAndTearsItDown() {
    NetLab.assumeAvailable();
    Root.assumeCommands("ping");
    java.util.List<String> names = new java.util.ArrayList<>();
    try (NetLab lab = NetLab.create(2)) {
      String c1 = lab.clients().get(0);
      String c2 = lab.clients().get(1);
      assertEquals(
          0,
          Cmd.result(lab.in(c1, "ping", "-c", "1", "-W", "5", lab.address(lab.server())))
              .exitCode());
      assertEquals(
          0,
          Cmd.result(lab.in(lab.server(), "ping", "-c", "1", "-W", "5", lab.address(c2)))
              .exitCode());
      assertTrue(Cmd.run(lab.in(c1, "ip", "route")).contains("224.0.0.0/4"));
      lab.loss(c2, 30);
      assertTrue(
          Cmd.run(lab.in(c2, "nft", "list", "ruleset")).contains("numgen random mod 100 < 30"));
      String rogue = lab.add("rogue");
      assertNotEquals(lab.address(c1), lab.address(rogue));
      assertTrue(Cmd.run("ip", "netns", "list").contains(rogue));
      names.addAll(java.util.List.of(lab.server(), c1, c2, rogue));
    }
    // This lab's namespaces only: another run's leftovers are not this teardown's doing.
    String after = Cmd.run("ip", "netns", "list");
    for (String ns : names) {
      assertFalse(after.contains(ns), ns + " was left behind");
    }
  }
}
