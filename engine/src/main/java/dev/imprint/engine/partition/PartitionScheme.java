package dev.imprint.engine.partition;

import java.util.Optional;

/** The kind of partition table a disk carries; the ids are those of the image header. */
public enum PartitionScheme {
  NONE(0),
  MBR(1),
  GPT(2);

  public final int id;

  PartitionScheme(int id) {
    this.id = id;
  }

  /** The scheme with this header id, if format version 1 defines one. */
  public static Optional<PartitionScheme> of(int id) {
    for (PartitionScheme s : values()) {
      if (s.id == id) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }
}
