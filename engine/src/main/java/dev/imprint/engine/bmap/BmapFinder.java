package dev.imprint.engine.bmap;

import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.http.HttpStream;
import dev.imprint.engine.http.HttpUrls;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds the bmap beside an image the way {@code bmaptool copy} does: IMAGE.bmap, then with each
 * extension stripped in turn ({@code disk.img.xz} → {@code disk.img.xz.bmap}, {@code
 * disk.img.bmap}, {@code disk.bmap}); beside a file, or beside an http(s) URL.
 */
public final class BmapFinder {
  private BmapFinder() {}

  public static Optional<Path> beside(Path image) {
    Path dir = image.toAbsolutePath().getParent();
    for (String name : candidates(image.getFileName().toString())) {
      Path candidate = dir.resolve(name);
      if (Files.isRegularFile(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * The bmap beside an image at an http(s) URL: each candidate name in the URL's directory is
   * fetched in turn (its query dropped); a 404 (or 401/403) means none there.
   *
   * @throws BmapException a bmap found that is damaged
   * @throws HttpSourceException the server failed otherwise (access denied, unreachable)
   */
  public static Optional<Bmap> besideUrl(URI image, HttpOptions http) throws IOException {
    String path = image.getRawPath() == null ? "" : image.getRawPath();
    int slash = path.lastIndexOf('/');
    String name = path.substring(slash + 1);
    if (name.isEmpty()) {
      return Optional.empty();
    }
    for (String candidate : candidates(name)) {
      URI uri;
      try {
        uri =
            new URI(
                image.getScheme()
                    + "://"
                    + image.getRawAuthority()
                    + path.substring(0, slash + 1)
                    + candidate);
      } catch (java.net.URISyntaxException e) {
        continue; // a name that cannot be a URL has no bmap there
      }
      byte[] bytes;
      try (InputStream in = HttpStream.open(uri, http, w -> {})) {
        bytes = in.readNBytes((int) Bmap.MAX_FILE + 1);
      } catch (HttpSourceException e) {
        // S3 and GCS answer 403 for a missing object when listing is not allowed.
        if (e.kind() == HttpSourceException.Kind.NOT_FOUND
            || e.kind() == HttpSourceException.Kind.ACCESS_DENIED) {
          continue;
        }
        throw e;
      }
      String where = "bmap " + HttpUrls.display(uri);
      if (bytes.length > Bmap.MAX_FILE) {
        throw new BmapException(true, where + " is larger than any bmap");
      }
      return Optional.of(Bmap.parse(where, bytes));
    }
    return Optional.empty();
  }

  /** The names a bmap beside {@code image} may have, in the order bmaptool tries them. */
  static List<String> candidates(String image) {
    List<String> out = new ArrayList<>();
    String name = image;
    while (true) {
      out.add(name + ".bmap");
      // As Python's os.path.splitext: a leading dot does not start an extension.
      int dot = name.lastIndexOf('.');
      if (dot <= 0 || name.substring(0, dot).chars().allMatch(c -> c == '.')) {
        return out;
      }
      name = name.substring(0, dot);
    }
  }
}
