package dev.imprint.engine.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Recorded test data that can't be made here (Apple .dmg files made on macOS, a sysfs tree of a
 * real laptop), kept in the repository under {@code engine/src/test/resources/fixtures/} so a clean
 * clone carries it. Each folder's README says where it comes from. Found from the working directory
 * up, so tests of every module (which run in their module's folder) reach it.
 */
public final class Fixtures {
  private static final Path HOME = Path.of("engine", "src", "test", "resources", "fixtures");

  private Fixtures() {}

  /** The fixture file or folder {@code relative} (e.g. "udif/raw.dmg"); fails if it is missing. */
  public static Path path(String relative) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path p = dir.resolve(HOME).resolve(relative);
      if (Files.exists(p)) {
        return p;
      }
    }
    throw new IllegalStateException(
        "fixture " + relative + " is missing: it belongs under engine/src/test/resources/fixtures");
  }
}
