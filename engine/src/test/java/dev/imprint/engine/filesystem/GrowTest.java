package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class GrowTest {
  @Test
  void btrfsUnder256MiBIsRefusedBeforeAnythingRuns() {
    // No loop device is attached: the target need not even exist.
    IOException e =
        assertThrows(
            IOException.class,
            () -> Grow.grow(Path.of("/nonexistent/imprint-target"), 0, (200L << 20), "btrfs"));
    assertTrue(e.getMessage().contains("256 MiB"), e::getMessage);
  }

  @Test
  void theReasonIsTheErrorLineNotTheLastOne() {
    assertEquals(
        "ERROR: unable to resize 'm': Invalid argument",
        Grow.reason(
            "ERROR: unable to resize 'm': Invalid argument\n"
                + "Resize device id 1 (/dev/loop0) from 128.00MiB to max\n"));
    assertEquals("resize2fs: bad", Grow.reason("checking\nresize2fs: bad\n\n"));
    assertEquals("", Grow.reason(""));
  }
}
