package dev.imprint.engine.http;

/**
 * The file on the server changed (ETag, Last-Modified or length) between two requests of one
 * restore. Reading on would mix two images on one disk, so the restore stops; starting again reads
 * the new file from the beginning.
 */
public final class ImageChangedException extends HttpSourceException {
  public ImageChangedException(String message) {
    super(Kind.CHANGED, message);
  }
}
