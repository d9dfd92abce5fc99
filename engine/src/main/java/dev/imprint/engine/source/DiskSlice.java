package dev.imprint.engine.source;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** A window of a {@link RandomAccessDisk}; see {@link RandomAccessDisk#slice}. */
final class DiskSlice extends Slice implements RandomAccessDisk {
  private final RandomAccessDisk disk;

  DiskSlice(RandomAccessDisk disk, String description, long offset, long length) {
    super(disk, description, offset, length);
    this.disk = disk;
  }

  @Override
  public int sectorSize() {
    return disk.sectorSize();
  }

  @Override
  public List<Extent> dataExtents() throws IOException {
    List<Extent> out = new ArrayList<>();
    long end = offset + size();
    for (Extent e : disk.dataExtents()) {
      long from = Math.max(e.offset(), offset);
      long to = Math.min(e.end(), end);
      if (to > from) {
        out.add(new Extent(from - offset, to - from));
      }
    }
    return List.copyOf(out);
  }

  @Override
  public RandomAccessDisk slice(String description, long offset, long length) {
    checkInside(offset, length);
    return disk.slice(description, this.offset + offset, length);
  }

  @Override
  public void close() {}
}
