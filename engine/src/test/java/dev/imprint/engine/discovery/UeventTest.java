package dev.imprint.engine.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class UeventTest {
  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aLoopDeviceGettingItsFile() {
    byte[] m =
        bytes(
            "change@/devices/virtual/block/loop5\0ACTION=change\0DEVPATH=/devices/virtual/block/loop5"
                + "\0SUBSYSTEM=block\0DISK_MEDIA_CHANGE=1\0MAJOR=7\0MINOR=5\0DEVNAME=loop5"
                + "\0DEVTYPE=disk\0SEQNUM=4711\0");
    Uevent e = Uevent.parse(m, m.length).orElseThrow();
    assertEquals("change", e.action());
    assertEquals("/devices/virtual/block/loop5", e.devpath());
    assertEquals("loop5", e.name());
    assertTrue(e.isBlock());
    assertEquals("1", e.env().get("DISK_MEDIA_CHANGE"));
  }

  @Test
  void udevsOwnBroadcastsAreNotKernelEvents() {
    byte[] m = bytes("libudev\0\u00fe\u00ed\u00ca\u00fe");
    assertTrue(Uevent.parse(m, m.length).isEmpty());
  }

  @Test
  void theNameFallsBackToTheDevpath() {
    byte[] m = bytes("add@/devices/virtual/block/loop9\0ACTION=add\0SUBSYSTEM=block\0");
    assertEquals("loop9", Uevent.parse(m, m.length).orElseThrow().name());
  }
}
