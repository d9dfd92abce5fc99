package dev.imprint.engine.filecopy;

import java.util.List;

/**
 * How a file copy runs.
 *
 * @param verify compare every copied item with its source afterwards, the target read past the page
 *     cache
 * @param excludes glob patterns (* ? [..]); one without a slash matches a name at any depth, one
 *     with a slash the path from the source's top
 * @param delete remove target items the source doesn't have, in every directory copied
 * @param threads items in flight at once (0: a default for this machine)
 */
public record FileCopyOptions(boolean verify, List<String> excludes, boolean delete, int threads) {
  public FileCopyOptions {
    excludes = List.copyOf(excludes);
  }

  public static FileCopyOptions defaults() {
    return new FileCopyOptions(true, List.of(), false, 0);
  }

  int parallelism() {
    return threads > 0 ? threads : Math.max(8, 8 * Runtime.getRuntime().availableProcessors());
  }
}
