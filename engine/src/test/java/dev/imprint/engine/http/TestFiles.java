package dev.imprint.engine.http;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Random;

/** Test data for the HTTP tests. */
final class TestFiles {
  private TestFiles() {}

  static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  static byte[] write(Path file, int size, long seed) throws IOException {
    byte[] b = random(size, seed);
    Files.write(file, b);
    return b;
  }

  /** Writes new content next to {@code file} and renames it over, with a later mtime. */
  static void replace(Path file, long seed) throws IOException {
    long size = Files.size(file);
    FileTime before = Files.getLastModifiedTime(file);
    Path tmp = file.resolveSibling(file.getFileName() + ".new");
    Files.write(tmp, random((int) size, seed));
    Files.setLastModifiedTime(tmp, FileTime.fromMillis(before.toMillis() + 10_000));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Options for tests: no proxies from the environment, short timeouts. */
  static HttpOptions options() {
    return HttpOptions.defaults()
        .withEnvironment(Map.of())
        .withTimeouts(java.time.Duration.ofSeconds(5), java.time.Duration.ofSeconds(10))
        .withRetryBudget(java.time.Duration.ofSeconds(30));
  }
}
