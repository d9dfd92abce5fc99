package dev.imprint.engine.filesystem;

import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;

/**
 * One filesystem's answer to one question: which bytes of the volume are in use? Everything else
 * about imaging is shared. Implementations read the filesystem's own allocation structures.
 */
public interface FilesystemReader {
  /** Short name for messages and the image header: "ext4", "vfat", "ntfs", "xfs", "btrfs". */
  String name();

  /** True when the volume's first bytes carry this filesystem's signature. Cheap; no checks. */
  boolean probe(Volume volume) throws IOException;

  /**
   * The ranges the filesystem uses, relative to the volume start. Throws {@link
   * FilesystemException} when the filesystem fails its own consistency checks (bad checksum, counts
   * that don't add up): the caller then falls back to copying every non-zero block.
   */
  AllocationMap allocation(Volume volume) throws IOException;

  /** A window [offset, offset + length) of a disk: a partition, or the whole disk. */
  record Volume(RandomAccessDisk disk, long offset, long length) {}
}
