package dev.imprint.engine.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Guards for tests that need root and loop devices: they skip, not fail, where those are absent.
 */
public final class Root {
  private Root() {}

  public static boolean isRoot() {
    try {
      // /proc/self belongs to the process's effective user.
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Skips the calling test unless it runs as root with working loop devices and losetup. */
  public static void assumeRoot() {
    Assumptions.assumeTrue(isRoot(), "needs root");
    Path control = Path.of("/dev/loop-control");
    Assumptions.assumeTrue(
        Files.isReadable(control) && Files.isWritable(control), "needs /dev/loop-control");
    Assumptions.assumeTrue(Cmd.exists("losetup"), "needs losetup (util-linux)");
  }

  /** Skips the calling test unless {@code programs} are all installed. */
  public static void assumeCommands(String... programs) {
    for (String p : programs) {
      Assumptions.assumeTrue(Cmd.exists(p), "needs " + p);
    }
  }
}
