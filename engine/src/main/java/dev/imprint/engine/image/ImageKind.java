package dev.imprint.engine.image;

/** Whether an image holds a whole device (with its partition table) or a single volume. */
public enum ImageKind {
  DEVICE(1),
  VOLUME(2);

  public final int id;

  ImageKind(int id) {
    this.id = id;
  }

  static ImageKind of(int id) throws ImageFormatException {
    for (ImageKind k : values()) {
      if (k.id == id) {
        return k;
      }
    }
    throw new ImageFormatException("unknown image kind " + id);
  }
}
