package dev.imprint.cli;

import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.FileRangeReader;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.image.RangeReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens an Imprint image named on the command line, with messages that say what to do. */
final class ImageOpener {
  private ImageOpener() {}

  static Image open(String spec, int damagedExit) throws IOException {
    return open(spec, damagedExit, null);
  }

  /** Opens a local image, or one at an http(s) URL fetched with {@code remote}. */
  static Image open(String spec, int damagedExit, RemoteOptions remote) throws IOException {
    if (HttpUrls.isHttpUrl(spec)) {
      RangeReader r = null;
      try {
        r =
            HttpRangeReader.open(
                HttpUrls.parse(spec),
                remote == null
                    ? HttpOptions.defaults().withEnvironment(System.getenv())
                    : remote.http());
        return Image.open(r);
      } catch (HttpSourceException e) {
        closeQuietly(r);
        throw new UserError(e.getMessage());
      } catch (ImageFormatException e) {
        closeQuietly(r);
        throw new UserError(e.getMessage(), damagedExit);
      }
    }
    if (remote != null) {
      remote.requireHttp(spec);
    }
    Path p = Path.of(spec);
    if (!Files.exists(p)) {
      throw new UserError("image " + spec + " does not exist: check the path");
    }
    if (Files.isDirectory(p)) {
      throw new UserError("image " + spec + " is a directory: give an image file");
    }
    FileRangeReader reader;
    try {
      reader = new FileRangeReader(p);
    } catch (NoSuchFileException e) {
      throw new UserError("image " + spec + " does not exist: check the path");
    } catch (java.nio.file.AccessDeniedException e) {
      throw new UserError("cannot read image " + spec + ": permission denied");
    }
    try {
      return Image.open(reader);
    } catch (ImageFormatException e) {
      reader.close();
      throw new UserError(e.getMessage(), damagedExit);
    }
  }

  static void closeQuietly(java.io.Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // Already failing with a better message.
      }
    }
  }
}
