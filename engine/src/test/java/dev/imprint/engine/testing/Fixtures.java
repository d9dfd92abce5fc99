package dev.imprint.engine.testing;

import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Recorded test data that can't be made here (Apple .dmg files made on macOS, a sysfs tree of a
 * real laptop), kept in the repository under engine's test resources {@code fixtures/} so a clean
 * clone carries it. Each folder's README says where it comes from.
 */
public final class Fixtures {
  private Fixtures() {}

  /** The fixture file or folder {@code relative} (e.g. "udif/raw.dmg"); fails if it is missing. */
  public static Path path(String relative) {
    URL url = Fixtures.class.getResource("/fixtures/" + relative);
    if (url == null || !"file".equals(url.getProtocol())) {
      throw new UncheckedIOException(
          new java.io.FileNotFoundException(
              "fixture " + relative + " is missing from engine/src/test/resources/fixtures"));
    }
    try {
      Path p = Path.of(url.toURI());
      if (!Files.exists(p)) {
        throw new IllegalStateException("fixture " + p + " does not exist");
      }
      return p;
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
