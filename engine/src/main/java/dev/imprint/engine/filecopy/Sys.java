package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import java.nio.ByteBuffer;

/**
 * The fd-relative system calls a faithful tree copy needs, every name a NUL-terminated byte array
 * (names are bytes; the JVM's file-name encoding would lose the ones that aren't valid in it). Each
 * call throws {@link LastErrorException} carrying errno on failure. glibc 2.28+ wraps all of them.
 * Direct-mapped (static natives bound once): a copy makes some fifteen calls per file, and an
 * interface-mapped call costs several microseconds of reflection and argument conversion.
 */
final class Sys {
  static {
    Native.register(Sys.class, NativeLibrary.getInstance("libc.so.6"));
  }

  private Sys() {}

  static final int O_RDONLY = 0;
  static final int O_WRONLY = 1;
  static final int O_CREAT = 0100;
  static final int O_EXCL = 0200;
  static final int O_NOFOLLOW = 0400000;
  static final int O_DIRECTORY = 0200000;
  static final int O_CLOEXEC = 02000000;
  static final int O_NOATIME = 01000000;
  static final int O_PATH = 010000000;
  static final int O_NONBLOCK = 04000;
  static final int O_DIRECT = Platform.isARM() ? 0200000 : 040000;

  static final int AT_FDCWD = -100;
  static final int AT_SYMLINK_NOFOLLOW = 0x100;
  static final int AT_REMOVEDIR = 0x200;
  static final int AT_EMPTY_PATH = 0x1000;
  static final int AT_STATX_SYNC_AS_STAT = 0;
  static final int STATX_BASIC = 0x7ff;

  static final int RENAME_NOREPLACE = 1;
  static final int RENAME_EXCHANGE = 2;

  static final int SEEK_SET = 0;
  static final int SEEK_DATA = 3;
  static final int SEEK_HOLE = 4;
  static final int POSIX_FADV_SEQUENTIAL = 2;
  static final int POSIX_FADV_DONTNEED = 4;

  static final int S_IFMT = 0170000;
  static final int S_IFSOCK = 0140000;
  static final int S_IFLNK = 0120000;
  static final int S_IFREG = 0100000;
  static final int S_IFBLK = 060000;
  static final int S_IFDIR = 040000;
  static final int S_IFCHR = 020000;
  static final int S_IFIFO = 010000;

  static final int EPERM = 1;
  static final int ENOENT = 2;
  static final int EINTR = 4;
  static final int EIO = 5;
  static final int EACCES = 13;
  static final int EEXIST = 17;
  static final int EXDEV = 18;
  static final int ENOTDIR = 20;
  static final int EISDIR = 21;
  static final int EINVAL = 22;
  static final int EFBIG = 27;
  static final int ENOSPC = 28;
  static final int ERANGE = 34;
  static final int ENAMETOOLONG = 36;
  static final int ENOSYS = 38;
  static final int ENOTEMPTY = 39;
  static final int ELOOP = 40;
  static final int ENODATA = 61;
  static final int EOPNOTSUPP = 95;
  static final int EDQUOT = 122;

  static native int openat(int dirfd, byte[] path, int flags, int mode) throws LastErrorException;

  static native int close(int fd) throws LastErrorException;

  static native int statx(int dirfd, byte[] path, int flags, int mask, byte[] statxbuf)
      throws LastErrorException;

  static native long getdents64(int fd, byte[] buf, long count) throws LastErrorException;

  static native long readlinkat(int dirfd, byte[] path, byte[] buf, long size)
      throws LastErrorException;

  static native int mkdirat(int dirfd, byte[] path, int mode) throws LastErrorException;

  static native int mknodat(int dirfd, byte[] path, int mode, long dev) throws LastErrorException;

  static native int symlinkat(byte[] target, int newdirfd, byte[] linkpath)
      throws LastErrorException;

  static native int linkat(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath, int flags)
      throws LastErrorException;

  static native int unlinkat(int dirfd, byte[] path, int flags) throws LastErrorException;

  static native int renameat2(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath, int flags)
      throws LastErrorException;

  static native int fchownat(int dirfd, byte[] path, int uid, int gid, int flags)
      throws LastErrorException;

  static native int fchown(int fd, int uid, int gid) throws LastErrorException;

  static native int fchmod(int fd, int mode) throws LastErrorException;

  static native int fchmodat(int dirfd, byte[] path, int mode, int flags) throws LastErrorException;

  /** {@code times}: atime seconds, atime nanoseconds, mtime seconds, mtime nanoseconds. */
  static native int utimensat(int dirfd, byte[] path, long[] times, int flags)
      throws LastErrorException;

  static native int futimens(int fd, long[] times) throws LastErrorException;

  static native long copy_file_range(
      int fdIn, long[] offIn, int fdOut, long[] offOut, long len, int flags)
      throws LastErrorException;

  /** Writes at out's file position; reads from {@code offset[0]}, which it advances. */
  static native long sendfile(int outFd, int inFd, long[] offset, long count)
      throws LastErrorException;

  static native long pread(int fd, ByteBuffer buf, long count, long offset)
      throws LastErrorException;

  static native long pwrite(int fd, ByteBuffer buf, long count, long offset)
      throws LastErrorException;

  static native long lseek(int fd, long offset, int whence) throws LastErrorException;

  static native int ftruncate(int fd, long length) throws LastErrorException;

  static native int fsync(int fd) throws LastErrorException;

  static native int syncfs(int fd) throws LastErrorException;

  /** Returns the error number itself instead of setting errno. */
  static native int posix_fadvise(int fd, long offset, long len, int advice);

  static native long flistxattr(int fd, byte[] list, long size) throws LastErrorException;

  static native long fgetxattr(int fd, byte[] name, byte[] value, long size)
      throws LastErrorException;

  static native int fsetxattr(int fd, byte[] name, byte[] value, long size, int flags)
      throws LastErrorException;

  static native int fremovexattr(int fd, byte[] name) throws LastErrorException;

  // Path forms, for items no fd can be read through (symlinks, devices): given
  // /proc/self/fd/N of an O_PATH descriptor, they act on the item itself.
  static native long listxattr(byte[] path, byte[] list, long size) throws LastErrorException;

  static native long getxattr(byte[] path, byte[] name, byte[] value, long size)
      throws LastErrorException;

  static native int setxattr(byte[] path, byte[] name, byte[] value, long size, int flags)
      throws LastErrorException;

  static native String strerror(int errnum);
}
