package dev.imprint.engine.source;

import java.io.IOException;

/**
 * A source that cannot be used as given: missing, a directory, unreadable, or the wrong kind of
 * thing. The message is one line that names the source and the fix, fit to show the user as is.
 */
public final class SourceException extends IOException {
  public SourceException(String message) {
    super(message);
  }

  public SourceException(String message, Throwable cause) {
    super(message, cause);
  }
}
