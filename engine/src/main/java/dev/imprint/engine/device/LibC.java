package dev.imprint.engine.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The few libc calls Java cannot make: open(2) with O_EXCL, block-device ioctls, lseek with
 * SEEK_DATA/SEEK_HOLE, fallocate, posix_fadvise, mount and umount2. Every call throws {@link
 * LastErrorException} carrying errno on failure.
 */
public interface LibC extends Library {
  LibC INSTANCE = load();

  /**
   * glibc by its soname first: asked for plain "c", JNA finds no loadable libc.so (a linker script
   * on glibc systems) and runs {@code ldconfig -p} in a child process to look, on every start.
   */
  private static LibC load() {
    try {
      return Native.load("libc.so.6", LibC.class);
    } catch (UnsatisfiedLinkError notGlibc) {
      return Native.load("c", LibC.class);
    }
  }

  int O_RDONLY = 0;
  int O_WRONLY = 1;
  int O_RDWR = 2;
  int O_CREAT = 0100;
  int O_EXCL = 0200;
  int O_CLOEXEC = 02000000;

  /** O_DIRECT differs between architectures. */
  int O_DIRECT = Platform.isARM() ? 0200000 : 040000;

  int SEEK_SET = 0;
  int SEEK_END = 2;
  int SEEK_DATA = 3;
  int SEEK_HOLE = 4;

  int FALLOC_FL_KEEP_SIZE = 1;
  int FALLOC_FL_PUNCH_HOLE = 2;
  int POSIX_FADV_DONTNEED = 4;
  int MNT_DETACH = 2;

  // Block-device ioctls; the encoding is the same on x86-64 and aarch64.
  long BLKRRPART = 0x125fL;
  long BLKFLSBUF = 0x1261L;
  long BLKSSZGET = 0x1268L;
  long BLKDISCARD = 0x1277L;
  long BLKPBSZGET = 0x127bL;
  long BLKZEROOUT = 0x127fL;
  long BLKGETSIZE64 = 0x80081272L;

  int ENXIO = 6;
  int EBUSY = 16;
  int EINVAL = 22;
  int EOPNOTSUPP = 95;

  int open(String path, int flags) throws LastErrorException;

  int open(String path, int flags, int mode) throws LastErrorException;

  int close(int fd) throws LastErrorException;

  int fsync(int fd) throws LastErrorException;

  int fdatasync(int fd) throws LastErrorException;

  long lseek(int fd, long offset, int whence) throws LastErrorException;

  int fallocate(int fd, int mode, long offset, long len) throws LastErrorException;

  int ftruncate(int fd, long length) throws LastErrorException;

  /** Returns the error number itself instead of setting errno. */
  int posix_fadvise(int fd, long offset, long len, int advice);

  int ioctl(int fd, NativeLong request, long[] arg) throws LastErrorException;

  int ioctl(int fd, NativeLong request, int[] arg) throws LastErrorException;

  int ioctl(int fd, NativeLong request, Pointer arg) throws LastErrorException;

  int umount2(String target, int flags) throws LastErrorException;

  int mount(String source, String target, String fstype, NativeLong flags, String data)
      throws LastErrorException;

  String strerror(int errnum);
}
