package dev.imprint.engine.image;

/** The partition table a device image carries. */
public enum PartitionScheme {
  NONE(0),
  MBR(1),
  GPT(2);

  public final int id;

  PartitionScheme(int id) {
    this.id = id;
  }

  static PartitionScheme of(int id) throws ImageFormatException {
    for (PartitionScheme s : values()) {
      if (s.id == id) {
        return s;
      }
    }
    throw new ImageFormatException("unknown partition scheme " + id);
  }
}
