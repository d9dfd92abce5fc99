package dev.imprint.engine.pipeline;

/**
 * How a restore writes: chunks decoded in parallel, how much of the start and end of the disk is
 * written last (the partition tables and superblocks live there, so an interrupted restore never
 * leaves a disk that looks valid), and how a whole-device image's partition table is fitted to a
 * target of another size (null: never). TRIM of unallocated ranges is each target's own choice
 * ({@link TargetWriter}).
 */
public record RestoreOptions(int parallelism, long heldRegion, TableFix tableFix) {
  public static final long DEFAULT_HELD_REGION = 1 << 20;

  public RestoreOptions(int parallelism, long heldRegion) {
    this(parallelism, heldRegion, null);
  }
}
