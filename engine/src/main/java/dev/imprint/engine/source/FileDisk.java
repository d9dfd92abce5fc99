package dev.imprint.engine.source;

import com.sun.jna.LastErrorException;
import dev.imprint.engine.device.LibC;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A raw disk image in a regular file, read at any offset; its holes are never read. */
public final class FileDisk implements RandomAccessDisk {
  private static final int FILE_SECTOR_SIZE = 512;

  /** Unmaps a mapping now rather than when the GC gets to it; null where the JDK hides it. */
  private static final MethodHandle UNMAP = unmapper();

  private final Path path;
  private final FileChannel channel;
  private final long size;

  private FileDisk(Path path, FileChannel channel, long size) {
    this.path = path;
    this.channel = channel;
    this.size = size;
  }

  /**
   * Opens {@code path} read-only. The size is taken now; a file that grows later is not followed.
   */
  public static FileDisk open(Path path) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      return new FileDisk(path, channel, channel.size());
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
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
    return FILE_SECTOR_SIZE;
  }

  @Override
  public boolean isBlockDevice() {
    return false;
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    return readAt(channel, dst, position);
  }

  /**
   * The bytes at [position, position + length) as a read-only view of the file's page cache:
   * mapped, not copied, for a reader that only hashes, compresses and writes them (the copy a read
   * makes was a third of create's kernel time). Its pages are touched here, so a file that has
   * shrunk or a sector that cannot be read shows now. Null when the range cannot be mapped or
   * touched (then {@link #read} it, which reports why) or when mappings cannot be released early
   * (held until a GC, they would fill memory). Give the view back with {@link #unmap} as soon as it
   * is used.
   */
  public MappedByteBuffer map(long position, int length) {
    if (UNMAP == null) {
      return null;
    }
    MappedByteBuffer m;
    try {
      m = channel.map(FileChannel.MapMode.READ_ONLY, position, length);
    } catch (IOException | UnsupportedOperationException e) {
      return null; // past the end, or a filesystem without mmap
    }
    try {
      m.load();
    } catch (InternalError e) {
      // How the JDK reports a fault in a mapped page: the file shrank meanwhile, or an I/O error.
      unmap(m);
      return null;
    }
    return m;
  }

  /** Releases a view {@link #map} returned; it must not be used afterwards. */
  public static void unmap(MappedByteBuffer mapped) {
    try {
      UNMAP.invokeExact((ByteBuffer) mapped);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  private static MethodHandle unmapper() {
    try {
      Class<?> c = Class.forName("sun.misc.Unsafe");
      Field f = c.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      return MethodHandles.lookup()
          .findVirtual(c, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
          .bindTo(f.get(null));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** Shared with {@link BlockDisk}: a positional read that only stops short at the end. */
  static int readAt(FileChannel channel, ByteBuffer dst, long position) throws IOException {
    int total = 0;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, position + total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  /**
   * Walks SEEK_DATA/SEEK_HOLE. The kernel reports data at its own granularity (a filesystem block
   * or more), so extents may include some zeros, but never skip data.
   */
  @Override
  public List<Extent> dataExtents() throws IOException {
    if (size == 0) {
      return List.of();
    }
    int fd;
    try {
      fd = LibC.INSTANCE.open(path.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
    } catch (LastErrorException e) {
      throw new IOException(
          "cannot open " + path + " to find its holes: " + LibC.INSTANCE.strerror(e.getErrorCode()),
          e);
    }
    try {
      return walk(fd);
    } finally {
      LibC.INSTANCE.close(fd);
    }
  }

  private List<Extent> walk(int fd) throws IOException {
    List<Extent> extents = new ArrayList<>();
    long pos = 0;
    while (pos < size) {
      long data;
      try {
        data = LibC.INSTANCE.lseek(fd, pos, LibC.SEEK_DATA);
      } catch (LastErrorException e) {
        if (e.getErrorCode() == LibC.ENXIO) {
          break; // no data at or after pos: the rest is one hole
        }
        if (pos == 0 && isUnsupported(e.getErrorCode())) {
          return List.of(new Extent(0, size)); // no hole support: everything may be data
        }
        throw seekFailure(e);
      }
      if (data >= size) {
        break;
      }
      long hole;
      try {
        hole = LibC.INSTANCE.lseek(fd, data, LibC.SEEK_HOLE);
      } catch (LastErrorException e) {
        // Data was found but the hole vanished (file truncated meanwhile): take the rest.
        if (e.getErrorCode() == LibC.ENXIO) {
          hole = size;
        } else {
          throw seekFailure(e);
        }
      }
      long end = Math.min(hole, size);
      extents.add(new Extent(data, end - data));
      pos = end;
    }
    return List.copyOf(extents);
  }

  private static boolean isUnsupported(int errno) {
    return errno == LibC.EINVAL || errno == LibC.EOPNOTSUPP;
  }

  private IOException seekFailure(LastErrorException e) {
    return new IOException(
        "cannot map the holes of " + path + ": " + LibC.INSTANCE.strerror(e.getErrorCode()), e);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
