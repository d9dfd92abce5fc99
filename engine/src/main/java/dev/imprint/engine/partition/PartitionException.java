package dev.imprint.engine.partition;

import java.io.IOException;

/** A partition table that cannot serve the operation asked of it; the message says why. */
public class PartitionException extends IOException {
  public PartitionException(String message) {
    super(message);
  }
}
