package dev.imprint.engine.probe;

import dev.imprint.engine.device.TargetDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/** The block I/O a capacity probe needs; a real device, or in tests a drive that lies. */
public interface ProbeTarget {
  long size() throws IOException;

  void write(ByteBuffer src, long position) throws IOException;

  /** Reads past the page cache (the probe must see the drive, not memory). */
  int read(ByteBuffer dst, long position) throws IOException;

  /** Flushes writes to the drive and drops what the kernel cached of it. */
  void sync() throws IOException;

  /** A device opened with O_DIRECT (and the cache dropped after the writes, for a buffered one). */
  static ProbeTarget of(TargetDevice device) {
    return new ProbeTarget() {
      @Override
      public long size() throws IOException {
        return device.size();
      }

      @Override
      public void write(ByteBuffer src, long position) throws IOException {
        device.write(src, position);
      }

      @Override
      public int read(ByteBuffer dst, long position) throws IOException {
        return device.read(dst, position);
      }

      @Override
      public void sync() throws IOException {
        device.flush();
        device.dropCache();
      }
    };
  }
}
