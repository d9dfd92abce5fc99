package dev.imprint.engine.image;

/** A stored chunk whose bytes don't decode to what its hash promises. */
public class ChunkDamagedException extends ImageDamagedException {
  private final long logicalOffset;

  public ChunkDamagedException(String where, long chunk, long logicalOffset, String why) {
    super(
        where
            + ": chunk "
            + chunk
            + " (disk offset "
            + logicalOffset
            + ") is damaged: "
            + why
            + "; the image cannot be trusted (copy it again)");
    this.logicalOffset = logicalOffset;
  }

  public long logicalOffset() {
    return logicalOffset;
  }
}
