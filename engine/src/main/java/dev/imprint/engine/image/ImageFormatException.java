package dev.imprint.engine.image;

import java.io.IOException;

/**
 * An input that is not an Imprint image this reader can use: not one at all, or of a newer major
 * version. Damage is the subtype {@link ImageDamagedException}; the message says which and where.
 */
public class ImageFormatException extends IOException {
  public ImageFormatException(String message) {
    super(message);
  }
}
