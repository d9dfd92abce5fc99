package dev.imprint.engine.filesystem;

import dev.imprint.engine.filesystem.FilesystemReader.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads of on-disk structures, bounded by the volume: a structure past its end is damage. */
final class VolumeReads {
  private VolumeReads() {}

  /**
   * Reads {@code length} bytes at {@code position} within the volume, little-endian.
   *
   * @throws FilesystemException when the range lies outside the volume or the disk ends early
   */
  static ByteBuffer read(Volume volume, long position, int length, String what) throws IOException {
    if (position < 0 || length < 0 || position + length > volume.length()) {
      throw new FilesystemException(
          what
              + " at byte "
              + position
              + " lies outside the volume ("
              + volume.length()
              + " bytes)");
    }
    ByteBuffer buf = ByteBuffer.allocate(length);
    int n = volume.disk().read(buf, volume.offset() + position);
    if (n < length) {
      throw new FilesystemException(
          what + " at byte " + position + ": the disk ends " + (length - n) + " bytes early");
    }
    return buf.flip().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Like {@link #read} but returns null instead of throwing when the volume is too short. */
  static ByteBuffer head(Volume volume, long position, int length) throws IOException {
    if (position + length > volume.length()) {
      return null;
    }
    ByteBuffer buf = ByteBuffer.allocate(length);
    if (volume.disk().read(buf, volume.offset() + position) < length) {
      return null;
    }
    return buf.flip().order(ByteOrder.LITTLE_ENDIAN);
  }

  static boolean isPowerOfTwo(long n) {
    return n > 0 && (n & (n - 1)) == 0;
  }

  static long u32(ByteBuffer b, int at) {
    return b.getInt(at) & 0xffffffffL;
  }

  static int u16(ByteBuffer b, int at) {
    return b.getShort(at) & 0xffff;
  }

  static int u8(ByteBuffer b, int at) {
    return b.get(at) & 0xff;
  }

  static boolean matches(ByteBuffer b, int at, byte[] magic) {
    if (b == null || at + magic.length > b.limit()) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if (b.get(at + i) != magic[i]) {
        return false;
      }
    }
    return true;
  }
}
