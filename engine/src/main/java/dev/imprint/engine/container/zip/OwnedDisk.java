package dev.imprint.engine.container.zip;

import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A window of an archive that owns it: a stored entry, whose closing closes the archive. */
final class OwnedDisk implements RandomAccessDisk {
  private final RandomAccessDisk window;
  private final Closeable owner;

  OwnedDisk(RandomAccessDisk window, Closeable owner) {
    this.window = window;
    this.owner = owner;
  }

  @Override
  public String description() {
    return window.description();
  }

  @Override
  public long size() {
    return window.size();
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    return window.read(dst, position);
  }

  @Override
  public int sectorSize() {
    return window.sectorSize();
  }

  @Override
  public List<Extent> dataExtents() throws IOException {
    return window.dataExtents();
  }

  @Override
  public void close() throws IOException {
    owner.close();
  }
}
