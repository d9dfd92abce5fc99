package dev.imprint.engine.codec;

import java.io.IOException;

/** A stored frame that cannot be compressed or decompressed. */
public class CodecException extends IOException {
  public CodecException(String message) {
    super(message);
  }
}
