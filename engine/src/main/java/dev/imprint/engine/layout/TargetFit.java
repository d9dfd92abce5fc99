package dev.imprint.engine.layout;

import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.ImageMetadata;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.partition.Partition;
import dev.imprint.engine.partition.PartitionScheme;

/**
 * How small a target a whole-device image fits: its data and its partitions must lie below the
 * target's end (plus room for the backup GPT), as with asr. Volumes and disks without a partition
 * table need their full size: a filesystem knows how big it is.
 */
public final class TargetFit {
  /** A GPT's backup: 128 entries of 128 bytes and a header, in 512-byte sectors. */
  private static final long GPT_BACKUP_SECTORS = 33;

  private TargetFit() {}

  public static long minimumSize(ImageMetadata md) {
    var h = md.header();
    if (h.kind() != ImageKind.DEVICE || h.scheme() == PartitionScheme.NONE) {
      return h.logicalSize();
    }
    long parts = 0;
    for (Partition p : h.partitions()) {
      parts = Math.max(parts, p.offset() + p.length());
    }
    // Data past the last partition is the table's own backup, which is rewritten for the target.
    long end = 0;
    for (IndexEntry e : md.index()) {
      if (e.kind() == RangeKind.DATA && e.logicalOffset() < parts) {
        end = Math.max(end, Math.min(e.logicalEnd(), parts));
      }
    }
    long needed = Math.max(end, parts);
    if (h.scheme() == PartitionScheme.GPT) {
      needed += GPT_BACKUP_SECTORS * Math.max(512, h.sectorSize());
    }
    return Math.min(h.logicalSize(), needed);
  }
}
