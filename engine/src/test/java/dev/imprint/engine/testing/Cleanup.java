package dev.imprint.engine.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a test attached, mounted or changed on the machine, undone last-first after it, even when
 * some steps fail; then any loop device still backed by a file under the test's directory.
 */
public final class Cleanup {
  private final List<AutoCloseable> steps = new ArrayList<>();

  public void add(AutoCloseable step) {
    steps.add(step);
  }

  /** Runs every step, last first, and fails the test naming each one that failed. */
  public void run(Path tmp) {
    List<Throwable> errors = new ArrayList<>();
    for (int i = steps.size() - 1; i >= 0; i--) {
      try {
        steps.get(i).close();
      } catch (Exception | Error e) {
        errors.add(e);
      }
    }
    steps.clear();
    if (Root.isRoot()) {
      LoopDevice.detachAllUnder(tmp);
    }
    if (!errors.isEmpty()) {
      fail("cleanup failed: " + errors);
    }
  }
}
