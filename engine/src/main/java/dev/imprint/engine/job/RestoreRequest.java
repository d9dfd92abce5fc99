package dev.imprint.engine.job;

import java.time.Duration;
import java.util.List;

/**
 * A restore as any front end asks for it (the CLI's restore, next the station, the multicast client
 * and batch jobs): a source, targets as the user named them, and how.
 *
 * @param consented the user agreed in advance to erase and unmount ({@code --noprompt}); else the
 *     job asks its front end
 * @param discard TRIM the ranges the image calls unallocated
 * @param buffered write through the page cache instead of O_DIRECT
 * @param remount whether filesystems unmounted from a target are mounted back afterwards
 * @param grow grow a restored volume's filesystem to its target
 * @param growLast whole-device GPT images: extend the last partition to each target's end
 * @param parallelism chunks decoded side by side (0: the job chooses)
 * @param stallLimit how long the job may go without any progress before it is stopped as stuck
 * @param newIds after the restore, give each target fresh GPT GUIDs and filesystem UUIDs/serials
 *     ({@code NewIds})
 */
public record RestoreRequest(
    SourceSpec source,
    List<String> targets,
    boolean verify,
    boolean consented,
    boolean discard,
    boolean buffered,
    Remount remount,
    boolean grow,
    boolean growLast,
    int parallelism,
    Duration stallLimit,
    boolean newIds) {
  /** No progress at all for this long means the job is stuck (a bug, or hardware that hangs). */
  public static final Duration DEFAULT_STALL_LIMIT = Duration.ofMinutes(10);

  public RestoreRequest {
    targets = List.copyOf(targets);
    stallLimit = stallLimit == null ? DEFAULT_STALL_LIMIT : stallLimit;
  }

  /** A request that keeps the image's ids. */
  public RestoreRequest(
      SourceSpec source,
      List<String> targets,
      boolean verify,
      boolean consented,
      boolean discard,
      boolean buffered,
      Remount remount,
      boolean grow,
      boolean growLast,
      int parallelism,
      Duration stallLimit) {
    this(
        source,
        targets,
        verify,
        consented,
        discard,
        buffered,
        remount,
        grow,
        growLast,
        parallelism,
        stallLimit,
        false);
  }

  /** Mounting back what a restore unmounted. */
  public enum Remount {
    /** Only targets named by their mount point, as asr does ({@code -target /Volumes/X}). */
    NAMED_MOUNT_POINTS,
    /** Every filesystem unmounted ({@code --remount}). */
    ALL,
    /** None ({@code --noremount}). */
    NONE
  }

  /** A request with the defaults a plain {@code restore --erase --noprompt} gets. */
  public static RestoreRequest of(SourceSpec source, List<String> targets) {
    return new RestoreRequest(
        source,
        targets,
        true,
        true,
        false,
        false,
        Remount.NAMED_MOUNT_POINTS,
        false,
        false,
        0,
        null);
  }

  public RestoreRequest withVerify(boolean v) {
    return new RestoreRequest(
        source,
        targets,
        v,
        consented,
        discard,
        buffered,
        remount,
        grow,
        growLast,
        parallelism,
        stallLimit,
        newIds);
  }

  public RestoreRequest withConsented(boolean c) {
    return new RestoreRequest(
        source,
        targets,
        verify,
        c,
        discard,
        buffered,
        remount,
        grow,
        growLast,
        parallelism,
        stallLimit,
        newIds);
  }

  public RestoreRequest withStallLimit(Duration d) {
    return new RestoreRequest(
        source,
        targets,
        verify,
        consented,
        discard,
        buffered,
        remount,
        grow,
        growLast,
        parallelism,
        d,
        newIds);
  }

  public RestoreRequest withNewIds(boolean n) {
    return new RestoreRequest(
        source,
        targets,
        verify,
        consented,
        discard,
        buffered,
        remount,
        grow,
        growLast,
        parallelism,
        stallLimit,
        n);
  }
}
