package dev.imprint.engine.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test files kept outside the repository in a {@code shared/fixtures} folder beside it (real images
 * made with other tools, e.g. Apple .dmg files). The folder is looked for beside the repo root and
 * then beside each of its ancestors, so a worktree nested one level deeper finds the same folder.
 * Missing fixtures skip a test, or fail it under {@value Root#REQUIRE_ALL}.
 */
public final class SharedFixtures {
  private SharedFixtures() {}

  /** {@code shared/fixtures/NAME}, or the calling test skips (fails under REQUIRE_ALL). */
  public static Path dir(String name) {
    Path p = Path.of("").toAbsolutePath();
    while (p != null) {
      Path candidate = p.resolve("shared").resolve("fixtures").resolve(name);
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
      p = p.getParent();
    }
    return Root.abort("needs the shared fixtures folder ../shared/fixtures/" + name);
  }
}
