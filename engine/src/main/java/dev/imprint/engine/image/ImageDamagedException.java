package dev.imprint.engine.image;

/**
 * An Imprint image whose own structure is wrong: a checksum, a digest, or a size, count or offset
 * that cannot be. Every command reports it as damage (exit 4); the message names the field and the
 * value. Its parent {@link ImageFormatException} without this type means "not an image we can read"
 * (not an Imprint image at all, or a newer major version).
 */
public class ImageDamagedException extends ImageFormatException {
  public ImageDamagedException(String message) {
    super(message);
  }

  /** "{@code where}: FIELD is VALUE, which WHY: the image is damaged (copy it again)". */
  public static ImageDamagedException field(String where, String field, Object value, String why) {
    return new ImageDamagedException(
        where
            + ": "
            + field
            + " is "
            + value
            + ", which "
            + why
            + ": the image is damaged (copy it again)");
  }
}
