package dev.imprint.engine.bmap;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the bmap beside an image the way {@code bmaptool copy} does: IMAGE.bmap, then with each
 * extension stripped in turn ({@code disk.img.xz} → {@code disk.img.xz.bmap}, {@code
 * disk.img.bmap}, {@code disk.bmap}).
 */
public final class BmapFinder {
  private BmapFinder() {}

  public static Optional<Path> beside(Path image) {
    Path dir = image.toAbsolutePath().getParent();
    String name = image.getFileName().toString();
    while (true) {
      Path candidate = dir.resolve(name + ".bmap");
      if (Files.isRegularFile(candidate)) {
        return Optional.of(candidate);
      }
      // As Python's os.path.splitext: a leading dot does not start an extension.
      int dot = name.lastIndexOf('.');
      if (dot <= 0 || name.substring(0, dot).chars().allMatch(c -> c == '.')) {
        return Optional.empty();
      }
      name = name.substring(0, dot);
    }
  }
}
