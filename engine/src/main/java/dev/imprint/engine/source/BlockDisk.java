package dev.imprint.engine.source;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.imprint.engine.device.LibC;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;

/** A block device read as a whole disk, opened read-only. */
public final class BlockDisk implements RandomAccessDisk {
  private static final int EACCES = 13;

  private final Path path;
  private final FileChannel channel;
  private final long size;
  private final int sectorSize;

  private BlockDisk(Path path, FileChannel channel, long size, int sectorSize) {
    this.path = path;
    this.channel = channel;
    this.size = size;
    this.sectorSize = sectorSize;
  }

  /**
   * Opens the device at {@code path} read-only. Its size comes from BLKGETSIZE64 because {@code
   * Files.size} is 0 for devices, and its sector size from BLKSSZGET.
   */
  public static BlockDisk open(Path path) throws IOException {
    long size;
    int sectorSize;
    int fd;
    try {
      fd = LibC.INSTANCE.open(path.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
    } catch (LastErrorException e) {
      if (e.getErrorCode() == EACCES) {
        throw new SourceException(
            "cannot read source " + path + ": permission denied (run as root for block devices)",
            e);
      }
      throw new SourceException(
          "cannot open source " + path + ": " + LibC.INSTANCE.strerror(e.getErrorCode()), e);
    }
    try {
      long[] bytes = new long[1];
      LibC.INSTANCE.ioctl(fd, new NativeLong(LibC.BLKGETSIZE64), bytes);
      int[] sector = new int[1];
      LibC.INSTANCE.ioctl(fd, new NativeLong(LibC.BLKSSZGET), sector);
      size = bytes[0];
      sectorSize = sector[0];
    } catch (LastErrorException e) {
      throw new SourceException(
          "source "
              + path
              + " did not report its size: "
              + LibC.INSTANCE.strerror(e.getErrorCode())
              + " (is it a block device?)",
          e);
    } finally {
      LibC.INSTANCE.close(fd);
    }
    return new BlockDisk(path, FileChannel.open(path, StandardOpenOption.READ), size, sectorSize);
  }

  @Override
  public Optional<Path> localPath() {
    return Optional.of(path);
  }

  @Override
  public String description() {
    return path.toString();
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public int sectorSize() {
    return sectorSize;
  }

  @Override
  public boolean isBlockDevice() {
    return true;
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    // The device's own end is authoritative; never read past the size we reported.
    if (position >= size) {
      return 0;
    }
    int limit = dst.limit();
    if (dst.remaining() > size - position) {
      dst.limit(dst.position() + (int) (size - position));
    }
    try {
      return FileDisk.readAt(channel, dst, position);
    } finally {
      dst.limit(limit);
    }
  }

  /** A device has no holes to ask about: which blocks matter is the filesystem readers' job. */
  @Override
  public List<Extent> dataExtents() {
    return List.of(new Extent(0, size));
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
