package dev.imprint.engine.image;

import java.io.IOException;

/** An image that is not an Imprint image, or is damaged: the message says which and where. */
public class ImageFormatException extends IOException {
  public ImageFormatException(String message) {
    super(message);
  }
}
