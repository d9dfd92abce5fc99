package dev.imprint.engine.pipeline;

/**
 * How a restore writes: chunks decoded in parallel, whether unallocated ranges are TRIMmed, how
 * much of the start and end of the disk is written last (the partition tables and superblocks live
 * there, so an interrupted restore never leaves a disk that looks valid), and how a whole-device
 * image's partition table is fitted to a target of another size (null: never).
 */
public record RestoreOptions(int parallelism, boolean discard, long heldRegion, TableFix tableFix) {
  public static final long DEFAULT_HELD_REGION = 1 << 20;

  public RestoreOptions(int parallelism, boolean discard, long heldRegion) {
    this(parallelism, discard, heldRegion, null);
  }
}
