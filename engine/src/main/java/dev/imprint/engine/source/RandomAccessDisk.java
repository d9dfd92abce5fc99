package dev.imprint.engine.source;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A disk readable at any offset: a raw image file or a block device. */
public non-sealed interface RandomAccessDisk extends DiskSource {
  long size();

  /** Logical sector size: BLKSSZGET for devices, 512 for files. */
  int sectorSize();

  boolean isBlockDevice();

  /** The file or device node behind this disk, for tools that probe it themselves. */
  default Optional<Path> localPath() {
    return Optional.empty();
  }

  /**
   * Reads into {@code dst} from {@code position} until dst is full or the disk ends.
   *
   * @return bytes read
   */
  int read(ByteBuffer dst, long position) throws IOException;

  /**
   * The ranges that may hold data, in order and non-overlapping; everything else reads as zeros and
   * need never be read. Files use SEEK_DATA/SEEK_HOLE; devices and filesystems without hole support
   * report the whole disk.
   */
  List<Extent> dataExtents() throws IOException;
}
