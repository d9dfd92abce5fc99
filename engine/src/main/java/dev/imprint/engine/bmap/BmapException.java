package dev.imprint.engine.bmap;

import java.io.IOException;

/**
 * A bmap that cannot be used, in one line: damaged (malformed, inconsistent, its own checksum
 * wrong) or not this image's (another size, a version or checksum type Imprint does not read).
 */
public final class BmapException extends IOException {
  private final boolean damaged;

  public BmapException(boolean damaged, String message) {
    super(message);
    this.damaged = damaged;
  }

  /** True for a damaged bmap (exit 4), false for one that does not fit (exit 2). */
  public boolean damaged() {
    return damaged;
  }
}
