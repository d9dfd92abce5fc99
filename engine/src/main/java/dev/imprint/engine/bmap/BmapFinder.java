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
   * fetched in turn (its query dropped); a 404 (or 401/403), or an answer that does not begin as a
   * bmap document (a server that answers every path), means none there.
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
        byte[] head = in.readNBytes(PREFIX);
        if (!looksLikeBmap(head)) {
          // A server that answers every path (a "soft 404" page, or the image itself): no bmap
          // there. Closing the stream stops the download.
          continue;
        }
        if (head.length < PREFIX) {
          bytes = head; // the whole answer (reading on at its end would ask for more)
        } else {
          byte[] rest = in.readNBytes((int) Bmap.MAX_FILE + 1 - head.length);
          bytes = new byte[head.length + rest.length];
          System.arraycopy(head, 0, bytes, 0, head.length);
          System.arraycopy(rest, 0, bytes, head.length, rest.length);
        }
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

  /** Bytes read of a candidate before deciding whether it is a bmap at all. */
  static final int PREFIX = 64 << 10;

  /**
   * Whether {@code head} begins as a bmap document: after an optional byte-order mark, XML
   * declarations and comments (bmaptool writes a 1 KiB comment first), the root element {@code
   * <bmap}. A damaged bmap still passes this and is reported by {@link Bmap#parse}.
   */
  static boolean looksLikeBmap(byte[] head) {
    String s = new String(head, java.nio.charset.StandardCharsets.ISO_8859_1);
    int at = s.startsWith("\u00ef\u00bb\u00bf") ? 3 : 0;
    while (true) {
      while (at < s.length() && Character.isWhitespace(s.charAt(at))) {
        at++;
      }
      int end;
      if (s.startsWith("<?", at)) {
        end = s.indexOf("?>", at);
        if (end < 0) {
          return false;
        }
        at = end + 2;
      } else if (s.startsWith("<!--", at)) {
        end = s.indexOf("-->", at);
        if (end < 0) {
          return false;
        }
        at = end + 3;
      } else {
        return s.startsWith("<bmap", at);
      }
    }
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
