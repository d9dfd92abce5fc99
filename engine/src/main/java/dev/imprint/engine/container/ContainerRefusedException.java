package dev.imprint.engine.container;

import java.io.IOException;

/**
 * A well-formed container Imprint will not restore: encrypted, with a backing file, with a dirty
 * log, a sparse bundle. The message is one line saying what it is and what to do instead.
 */
public class ContainerRefusedException extends IOException {
  public ContainerRefusedException(String message) {
    super(message);
  }
}
