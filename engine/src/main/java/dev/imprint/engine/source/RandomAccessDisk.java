package dev.imprint.engine.source;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A disk readable at any offset: a raw image file, a block device, a raw image on an HTTP(S) server
 * with range support, a partition of one of these ({@link #slice}), and next a foreign container
 * (qcow2, VHD, UDIF) decoding its own file, itself a {@link RandomAccessInput}. What a disk adds to
 * random access is what imaging asks: its sector size, whether it is a device, and where its data
 * may be.
 */
public non-sealed interface RandomAccessDisk extends DiskSource, RandomAccessInput {
  /** Logical sector size: BLKSSZGET for devices, 512 for files. */
  default int sectorSize() {
    return 512;
  }

  default boolean isBlockDevice() {
    return false;
  }

  /** The file or device node behind this disk, for tools that probe it themselves. */
  default Optional<Path> localPath() {
    return Optional.empty();
  }

  /**
   * The ranges that may hold data, in order and non-overlapping; everything else reads as zeros and
   * need never be read. Files use SEEK_DATA/SEEK_HOLE; devices, servers and filesystems without
   * hole support report the whole disk.
   */
  default List<Extent> dataExtents() throws IOException {
    return size() == 0 ? List.of() : List.of(new Extent(0, size()));
  }

  /**
   * A partition (or any window) of this disk as a disk of its own: same sector size, its data
   * extents those of this disk inside the window. Closing it leaves this disk open.
   */
  @Override
  default RandomAccessDisk slice(String description, long offset, long length) {
    return new DiskSlice(this, description, offset, length);
  }
}
