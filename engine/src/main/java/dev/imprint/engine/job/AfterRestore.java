package dev.imprint.engine.job;

import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.filesystem.Grow;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.partition.Partition;
import java.io.IOException;
import java.nio.file.Path;

/** What a job does after every target was restored: grow filesystems, give new ids. */
public final class AfterRestore {
  private AfterRestore() {}

  /**
   * The partition whose filesystem {@code --grow} or {@code --grow-last-partition} grows, or null
   * when the image records none (only Imprint images record their filesystems).
   */
  public static Partition partitionToGrow(ImageHeader h, SourceSpec source, boolean growLast) {
    if (h == null) {
      return null;
    }
    Partition part = null;
    Integer volume = source.sourceVolume();
    for (Partition p : h.partitions()) {
      if (volume != null
          ? p.number() == volume
          : growLast
              ? part == null || p.offset() + p.length() > part.offset() + part.length()
              : p.number() == 0) {
        part = p;
      }
    }
    return part;
  }

  /** Grows {@code part}'s filesystem on one restored target; returns how, for the user. */
  public static String grow(Path target, ImageHeader h, Partition part, boolean growLast)
      throws IOException {
    try (TargetDevice d = TargetDevice.open(target, new OpenMode(false, false))) {
      long size = d.size();
      long offset = growLast ? part.offset() : 0;
      // The grown last partition ends before the backup GPT (33 sectors of 512 bytes).
      long length = growLast ? size - 33L * Math.max(512, h.sectorSize()) - offset : size;
      return Grow.grow(target, offset, length, part.filesystem());
    }
  }

  /**
   * {@code --new-ids} can run: refuses, before anything is written, when a program it needs for the
   * filesystems the image records is missing.
   */
  public static void checkNewIds(RestoreRequest request, ImageHeader h) throws Refusal {
    if (!request.newIds()) {
      return;
    }
    if (!request.verify()) {
      // An unverified target may hold anything: new ids would be edits into unknown bytes.
      throw new Refusal(
          "--new-ids changes only restored and verified targets: drop --noverify (verify = false)"
              + " or drop --new-ids");
    }
    if (NewIds.needsLoopDevices(h) && !NewIds.privileged()) {
      throw new Refusal(
          "--new-ids needs root for the image's ext, XFS or btrfs filesystems (their tools run on"
              + " loop devices): run as root or drop --new-ids");
    }
    java.util.List<String> missing = NewIds.missingTools(h);
    if (!missing.isEmpty()) {
      throw new Refusal(
          "--new-ids needs "
              + String.join(", ", missing)
              + " for the image's filesystems: install "
              + (missing.size() == 1 ? "it" : "them")
              + " (e2fsprogs, xfsprogs, btrfs-progs, util-linux) or drop --new-ids");
    }
  }

  /** Gives one restored and verified target fresh ids ({@link NewIds}). */
  public static NewIds.Result newIds(Path target) throws IOException {
    return NewIds.apply(target);
  }
}
