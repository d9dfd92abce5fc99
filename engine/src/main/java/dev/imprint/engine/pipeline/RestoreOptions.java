package dev.imprint.engine.pipeline;

/**
 * How a restore writes: chunks decoded in parallel, whether unallocated ranges are TRIMmed, and how
 * much of the start and end of the disk is written last (the partition tables and superblocks live
 * there, so an interrupted restore never leaves a disk that looks valid).
 */
public record RestoreOptions(int parallelism, boolean discard, long heldRegion) {
  public static final long DEFAULT_HELD_REGION = 1 << 20;
}
