package dev.imprint.engine.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Guards for tests that need root, loop devices or a tool: they skip where those are absent, and
 * fail instead when {@value #REQUIRE_ALL}=1 is set (CI sets it, so nothing there can skip).
 */
public final class Root {
  /** The environment variable that turns every missing root, device or tool into a failure. */
  public static final String REQUIRE_ALL = "IMPRINT_REQUIRE_ALL";

  private Root() {}

  public static boolean isRoot() {
    try {
      // /proc/self belongs to the process's effective user.
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Whether this run must run every test (CI): a missing prerequisite fails, never skips. */
  public static boolean requireAll() {
    String v = System.getenv(REQUIRE_ALL);
    return v != null && !v.isBlank() && !v.equals("0") && !v.equalsIgnoreCase("false");
  }

  /**
   * Skips the calling test, with {@code need} as the reason, unless {@code present}; under {@value
   * #REQUIRE_ALL} it fails with the same message instead.
   */
  public static void assume(boolean present, String need) {
    if (!present) {
      abort(need);
    }
  }

  /** Skips the calling test (fails it under {@value #REQUIRE_ALL}); for use as an expression. */
  public static <T> T abort(String need) {
    if (requireAll()) {
      return Assertions.fail(need);
    }
    return Assumptions.abort(need);
  }

  /** Skips the calling test unless it runs as root with working loop devices and losetup. */
  public static void assumeRoot() {
    assume(isRoot(), "needs root");
    Path control = Path.of("/dev/loop-control");
    assume(Files.isReadable(control) && Files.isWritable(control), "needs /dev/loop-control");
    assume(Cmd.exists("losetup"), "needs losetup (util-linux)");
  }

  /** Skips the calling test unless {@code programs} are all installed. */
  public static void assumeCommands(String... programs) {
    for (String p : programs) {
      assume(Cmd.exists(p), "needs " + p);
    }
  }
}
