package dev.imprint.engine.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A restore target: a block device (whole disk or partition) or a regular file, created if missing.
 *
 * <p>Data moves through FileChannels: a DIRECT one (O_DIRECT) for I/O whose position, length and
 * buffer address are aligned, and a buffered one for everything else. A separate libc descriptor,
 * opened first and with O_EXCL for devices when asked, carries the ioctls, fallocate and fadvise
 * calls, and holds the device exclusively for as long as this object is open.
 *
 * <p>Positional reads and writes are thread-safe for disjoint ranges.
 */
public final class TargetDevice implements Closeable {
  /** O_DIRECT needs this alignment (at least) of position, length and buffer address. */
  public static final int ALIGNMENT = 4096;

  private static final int ZERO_CHUNK = 1 << 20;
  // Shared by all targets; writers take read-only duplicates, so its position is never touched.
  private static final ByteBuffer ZEROS = allocateAligned(ZERO_CHUNK).asReadOnlyBuffer();
  private static final int ENOTTY = 25;

  private final Path path;
  private final boolean blockDevice;
  private final int fd;
  private final FileChannel buffered;
  private final FileChannel directChannel; // null when O_DIRECT is unavailable or not wanted
  private final int alignment;
  private final long deviceSize; // BLKGETSIZE64, fixed while open; -1 for files
  private final int sectorSize;
  private volatile boolean closed;

  private TargetDevice(
      Path path,
      boolean blockDevice,
      int fd,
      FileChannel buffered,
      FileChannel directChannel,
      int alignment,
      long deviceSize,
      int sectorSize) {
    this.path = path;
    this.blockDevice = blockDevice;
    this.fd = fd;
    this.buffered = buffered;
    this.directChannel = directChannel;
    this.alignment = alignment;
    this.deviceSize = deviceSize;
    this.sectorSize = sectorSize;
  }

  /**
   * Opens {@code path} for writing. A block device is opened as is; anything missing is created as
   * a regular file. Fails with a {@link DeviceException} that names the target and the fix: busy
   * (mounted or held, with {@link OpenMode#exclusive()}), permission denied, read-only, missing.
   */
  public static TargetDevice open(Path path, OpenMode mode) throws DeviceException {
    FileKind kind = fileKind(path);
    if (kind == FileKind.MISSING) {
      Path parent = path.toAbsolutePath().getParent();
      if (parent != null && !Files.isDirectory(parent)) {
        throw new DeviceException(
            "cannot create target file "
                + path
                + ": directory "
                + parent
                + " does not exist; create it or choose another path",
            DeviceException.ENOENT,
            null);
      }
    } else if (!kind.holdsDisk()) {
      throw new DeviceException(
          "target "
              + path
              + " is neither a block device nor a regular file: give a disk (/dev/sdX), a"
              + " partition or an image file");
    }
    boolean block = kind == FileKind.BLOCK_DEVICE;
    int flags = LibC.O_RDWR | LibC.O_CLOEXEC;
    if (block && mode.exclusive()) {
      flags |= LibC.O_EXCL; // on a block device: fail with EBUSY if mounted or held
    }
    if (!block) {
      flags |= LibC.O_CREAT; // never with O_EXCL: on files that means "must not exist"
    }
    int fd;
    try {
      fd = LibC.INSTANCE.open(path.toString(), flags, 0644);
    } catch (LastErrorException e) {
      throw DeviceException.of(path, "open", e);
    }
    FileChannel buffered = null;
    FileChannel direct = null;
    try {
      buffered = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
      int alignment = ALIGNMENT;
      if (mode.direct()) {
        try {
          // Java checks alignment against the filesystem's fragment size (4096 on devtmpfs, ext4).
          alignment = (int) Math.max(ALIGNMENT, Files.getFileStore(path).getBlockSize());
          direct =
              FileChannel.open(
                  path,
                  StandardOpenOption.READ,
                  StandardOpenOption.WRITE,
                  ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
          direct = null; // e.g. a filesystem without O_DIRECT: buffered I/O still works
          alignment = ALIGNMENT;
        }
      }
      long size = -1;
      int sector = 512;
      if (block) {
        long[] sizeOut = new long[1];
        LibC.INSTANCE.ioctl(fd, new NativeLong(LibC.BLKGETSIZE64), sizeOut);
        size = sizeOut[0];
        int[] sectorOut = new int[1];
        LibC.INSTANCE.ioctl(fd, new NativeLong(LibC.BLKSSZGET), sectorOut);
        sector = sectorOut[0];
      }
      return new TargetDevice(path, block, fd, buffered, direct, alignment, size, sector);
    } catch (LastErrorException e) {
      closeQuietly(fd, buffered, direct);
      throw DeviceException.of(path, "query the size of", e);
    } catch (IOException e) {
      closeQuietly(fd, buffered, direct);
      throw DeviceException.of(path, "open", e);
    }
  }

  /** A direct buffer whose address is aligned for O_DIRECT; its capacity is {@code size}. */
  public static ByteBuffer allocateAligned(int size) {
    // alignedSlice also rounds the capacity down to a multiple of the unit: round up first.
    int rounded = (int) roundUp(size, ALIGNMENT);
    return ByteBuffer.allocateDirect(rounded + ALIGNMENT)
        .alignedSlice(ALIGNMENT)
        .limit(size)
        .slice();
  }

  public Path path() {
    return path;
  }

  public boolean isBlockDevice() {
    return blockDevice;
  }

  /**
   * Whether {@code [offset, offset + length)} of a file target is a hole, which reads as zeros by
   * definition and need not be read to be checked. Always false for a block device, and false
   * whenever the file system cannot tell (then the range is read).
   */
  public boolean isHole(long offset, long length) {
    if (blockDevice) {
      return false;
    }
    try {
      return LibC.INSTANCE.lseek(fd, offset, LibC.SEEK_DATA) >= offset + length;
    } catch (LastErrorException e) {
      // ENXIO: no data at or after offset (the rest of the file is a hole); else: unknown.
      return e.getErrorCode() == LibC.ENXIO;
    }
  }

  /** Whether aligned I/O bypasses the page cache (O_DIRECT was accepted). */
  public boolean direct() {
    return directChannel != null;
  }

  /** The alignment of position, length and buffer address that takes the direct path. */
  public int alignment() {
    return alignment;
  }

  /** Bytes: BLKGETSIZE64 for devices (Files.size says 0 there), the current length for files. */
  public long size() throws DeviceException {
    if (blockDevice) {
      return deviceSize;
    }
    try {
      return buffered.size();
    } catch (IOException e) {
      throw DeviceException.of(path, "query the size of", e);
    }
  }

  /** The logical sector size (BLKSSZGET); 512 for files. */
  public int sectorSize() {
    return sectorSize;
  }

  /** Writes all of {@code src} at {@code position}. */
  public void write(ByteBuffer src, long position) throws DeviceException {
    int length = src.remaining();
    checkRange(position, length, "write");
    FileChannel channel = isDirectEligible(src, position) ? directChannel : buffered;
    long at = position;
    try {
      while (src.hasRemaining()) {
        at += channel.write(src, at);
      }
    } catch (IOException e) {
      throw DeviceException.of(path, "write at offset " + at, e);
    }
  }

  /**
   * Reads into {@code dst} from {@code position} until it is full or the target ends. Aligned reads
   * go around the page cache; call {@link #dropCache()} first to be sure the unaligned ones do too.
   *
   * @return the number of bytes read, 0 at or past the end
   */
  public int read(ByteBuffer dst, long position) throws DeviceException {
    FileChannel channel = isDirectEligible(dst, position) ? directChannel : buffered;
    int total = 0;
    try {
      while (dst.hasRemaining()) {
        int n = channel.read(dst, position + total);
        if (n <= 0) {
          break;
        }
        total += n;
      }
    } catch (IOException e) {
      throw DeviceException.of(path, "read at offset " + (position + total), e);
    }
    return total;
  }

  /**
   * Makes [offset, offset + length) read as zeros, as cheaply as the target allows: BLKZEROOUT on
   * devices, hole punching on files (which also extends a shorter file), else writing zeros.
   */
  public void zero(long offset, long length) throws DeviceException {
    if (length <= 0) {
      return;
    }
    if (blockDevice) {
      checkRange(offset, length, "zero");
      // BLKZEROOUT takes whole logical sectors; the ragged edges are written.
      long start = roundUp(offset, sectorSize);
      long end = (offset + length) / sectorSize * sectorSize;
      if (end <= start) {
        writeZeros(offset, length);
        return;
      }
      writeZeros(offset, start - offset);
      if (!ioctlRange(LibC.BLKZEROOUT, start, end - start, "zero")) {
        writeZeros(start, end - start);
      }
      writeZeros(end, offset + length - end);
      return;
    }
    long size = size();
    long inside = Math.min(offset + length, size) - offset;
    if (inside > 0 && !punchHole(offset, inside)) {
      writeZeros(offset, inside);
    }
    if (offset + length > size) {
      setLength(offset + length); // a sparse extension reads as zeros
    }
  }

  /**
   * Tells the device the range holds nothing of value (BLKDISCARD; a hole on files). Afterwards the
   * range may read as anything.
   *
   * @return false when the target cannot discard; nothing happened then
   */
  public boolean discard(long offset, long length) throws DeviceException {
    if (length <= 0) {
      return true;
    }
    if (!blockDevice) {
      long inside = Math.min(offset + length, size()) - offset;
      return inside <= 0 || punchHole(offset, inside);
    }
    checkRange(offset, length, "discard");
    long start = roundUp(offset, sectorSize);
    long end = (offset + length) / sectorSize * sectorSize;
    if (end <= start) {
      return false;
    }
    try {
      return ioctlRange(LibC.BLKDISCARD, start, end - start, "discard");
    } catch (DeviceException e) {
      return false; // discarding is an optimisation; never fail a restore over it
    }
  }

  /**
   * Sets a file's length: truncating, or extending sparsely. On a block device the length is fixed,
   * so this only checks that {@code length} fits.
   */
  public void setLength(long length) throws DeviceException {
    if (blockDevice) {
      if (length > deviceSize) {
        throw new DeviceException(
            "target "
                + path
                + " is too small: "
                + deviceSize
                + " bytes, need "
                + length
                + "; use a larger disk",
            DeviceException.ENOSPC,
            null);
      }
      return;
    }
    try {
      LibC.INSTANCE.ftruncate(fd, length);
    } catch (LastErrorException e) {
      throw DeviceException.of(path, "set the length of", e);
    }
  }

  /** Makes everything written so far durable: fdatasync, and BLKFLSBUF on devices. */
  public void flush() throws DeviceException {
    try {
      // One fdatasync covers writes through every descriptor: they share the inode.
      LibC.INSTANCE.fdatasync(fd);
    } catch (LastErrorException e) {
      throw DeviceException.of(path, "flush", e);
    }
    if (blockDevice) {
      flushBuffers();
    }
  }

  /**
   * Drops this target's cached pages so the next read comes from the disk: BLKFLSBUF on devices
   * (which writes dirty pages first), fdatasync plus POSIX_FADV_DONTNEED on files.
   */
  public void dropCache() throws DeviceException {
    if (blockDevice && flushBuffers()) {
      return;
    }
    try {
      LibC.INSTANCE.fdatasync(fd); // DONTNEED skips dirty pages
    } catch (LastErrorException e) {
      throw DeviceException.of(path, "flush", e);
    }
    LibC.INSTANCE.posix_fadvise(fd, 0, 0, LibC.POSIX_FADV_DONTNEED);
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    IOException failure = null;
    for (FileChannel c : new FileChannel[] {directChannel, buffered}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (IOException e) {
        failure = e;
      }
    }
    try {
      LibC.INSTANCE.close(fd);
    } catch (LastErrorException e) {
      failure = DeviceException.of(path, "close", e);
    }
    if (failure != null) {
      throw DeviceException.of(path, "close", failure);
    }
  }

  @Override
  public String toString() {
    return path.toString();
  }

  private boolean isDirectEligible(ByteBuffer buffer, long position) {
    if (directChannel == null || !buffer.isDirect()) {
      return false;
    }
    int mask = alignment - 1;
    return (position & mask) == 0
        && (buffer.remaining() & mask) == 0
        && buffer.alignmentOffset(buffer.position(), alignment) == 0;
  }

  private void checkRange(long offset, long length, String action) throws DeviceException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative range " + offset + "+" + length);
    }
    if (blockDevice && offset + length > deviceSize) {
      throw new DeviceException(
          "cannot "
              + action
              + " "
              + path
              + " at "
              + offset
              + "+"
              + length
              + ": the device ends at "
              + deviceSize
              + " bytes; use a larger disk",
          DeviceException.ENOSPC,
          null);
    }
  }

  private void writeZeros(long offset, long length) throws DeviceException {
    long at = offset;
    long end = offset + length;
    while (at < end) {
      // Go up to the next alignment boundary first, so the rest takes the direct path.
      long step = Math.min(end - at, ZERO_CHUNK - (at & (alignment - 1)));
      write(ZEROS.duplicate().limit((int) step), at);
      at += step;
    }
  }

  /**
   * @return false when the device does not support the operation
   */
  private boolean ioctlRange(long request, long offset, long length, String action)
      throws DeviceException {
    try {
      LibC.INSTANCE.ioctl(fd, new NativeLong(request), new long[] {offset, length});
      return true;
    } catch (LastErrorException e) {
      int errno = e.getErrorCode();
      if (errno == LibC.EOPNOTSUPP || errno == LibC.EINVAL || errno == ENOTTY) {
        return false;
      }
      throw DeviceException.of(path, action + " at offset " + offset, e);
    }
  }

  /**
   * @return false when the filesystem cannot punch holes
   */
  private boolean punchHole(long offset, long length) throws DeviceException {
    try {
      LibC.INSTANCE.fallocate(
          fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length);
      return true;
    } catch (LastErrorException e) {
      int errno = e.getErrorCode();
      if (errno == LibC.EOPNOTSUPP || errno == LibC.EINVAL) {
        return false;
      }
      throw DeviceException.of(path, "zero at offset " + offset, e);
    }
  }

  /**
   * @return false when the kernel refused for lack of privilege
   */
  private boolean flushBuffers() throws DeviceException {
    try {
      LibC.INSTANCE.ioctl(fd, new NativeLong(LibC.BLKFLSBUF), (com.sun.jna.Pointer) null);
      return true;
    } catch (LastErrorException e) {
      if (e.getErrorCode() != DeviceException.EACCES && e.getErrorCode() != DeviceException.EPERM) {
        throw DeviceException.of(path, "flush the buffers of", e);
      }
      // Without CAP_SYS_ADMIN the kernel refuses; the fdatasync already made the data durable.
      return false;
    }
  }

  private static long roundUp(long value, long unit) {
    return (value + unit - 1) / unit * unit;
  }

  private static FileKind fileKind(Path path) throws DeviceException {
    try {
      return FileKind.of(path);
    } catch (IOException e) {
      throw DeviceException.of(path, "inspect", e);
    }
  }

  private static void closeQuietly(int fd, FileChannel... channels) {
    for (FileChannel c : channels) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (IOException ignored) {
        // already failing; the first error is the one to report
      }
    }
    try {
      LibC.INSTANCE.close(fd);
    } catch (LastErrorException ignored) {
      // same
    }
  }
}
