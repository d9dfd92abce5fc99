package dev.imprint.engine.filesystem;

import java.io.IOException;

/** A filesystem that fails its own consistency checks: fall back, don't guess. */
public class FilesystemException extends IOException {
  public FilesystemException(String message) {
    super(message);
  }
}
