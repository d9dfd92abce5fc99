package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.nio.ByteBuffer;

/**
 * The fd-relative system calls a faithful tree copy needs, every name a NUL-terminated byte array
 * (names are bytes; the JVM's file-name encoding would lose the ones that aren't valid in it). Each
 * call throws {@link LastErrorException} carrying errno on failure. glibc 2.28+ wraps all of them.
 */
interface Sys extends Library {
  Sys C = Native.load("libc.so.6", Sys.class);

  int O_RDONLY = 0;
  int O_WRONLY = 1;
  int O_CREAT = 0100;
  int O_EXCL = 0200;
  int O_NOFOLLOW = 0400000;
  int O_DIRECTORY = 0200000;
  int O_CLOEXEC = 02000000;
  int O_NOATIME = 01000000;
  int O_PATH = 010000000;
  int O_NONBLOCK = 04000;
  int O_DIRECT = Platform.isARM() ? 0200000 : 040000;

  int AT_FDCWD = -100;
  int AT_SYMLINK_NOFOLLOW = 0x100;
  int AT_REMOVEDIR = 0x200;
  int AT_EMPTY_PATH = 0x1000;
  int AT_STATX_SYNC_AS_STAT = 0;
  int STATX_BASIC = 0x7ff;

  int RENAME_NOREPLACE = 1;
  int RENAME_EXCHANGE = 2;

  int SEEK_SET = 0;
  int SEEK_DATA = 3;
  int SEEK_HOLE = 4;
  int POSIX_FADV_SEQUENTIAL = 2;
  int POSIX_FADV_DONTNEED = 4;

  int S_IFMT = 0170000;
  int S_IFSOCK = 0140000;
  int S_IFLNK = 0120000;
  int S_IFREG = 0100000;
  int S_IFBLK = 060000;
  int S_IFDIR = 040000;
  int S_IFCHR = 020000;
  int S_IFIFO = 010000;

  int EPERM = 1;
  int ENOENT = 2;
  int EINTR = 4;
  int EIO = 5;
  int EACCES = 13;
  int EEXIST = 17;
  int EXDEV = 18;
  int ENOTDIR = 20;
  int EISDIR = 21;
  int EINVAL = 22;
  int EFBIG = 27;
  int ENOSPC = 28;
  int ERANGE = 34;
  int ENAMETOOLONG = 36;
  int ENOSYS = 38;
  int ENOTEMPTY = 39;
  int ELOOP = 40;
  int ENODATA = 61;
  int EOPNOTSUPP = 95;
  int EDQUOT = 122;

  int openat(int dirfd, byte[] path, int flags, int mode) throws LastErrorException;

  int close(int fd) throws LastErrorException;

  int statx(int dirfd, byte[] path, int flags, int mask, byte[] statxbuf) throws LastErrorException;

  long getdents64(int fd, byte[] buf, long count) throws LastErrorException;

  long readlinkat(int dirfd, byte[] path, byte[] buf, long size) throws LastErrorException;

  int mkdirat(int dirfd, byte[] path, int mode) throws LastErrorException;

  int mknodat(int dirfd, byte[] path, int mode, long dev) throws LastErrorException;

  int symlinkat(byte[] target, int newdirfd, byte[] linkpath) throws LastErrorException;

  int linkat(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath, int flags)
      throws LastErrorException;

  int unlinkat(int dirfd, byte[] path, int flags) throws LastErrorException;

  int renameat2(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath, int flags)
      throws LastErrorException;

  int fchownat(int dirfd, byte[] path, int uid, int gid, int flags) throws LastErrorException;

  int fchown(int fd, int uid, int gid) throws LastErrorException;

  int fchmod(int fd, int mode) throws LastErrorException;

  int fchmodat(int dirfd, byte[] path, int mode, int flags) throws LastErrorException;

  /** {@code times}: atime seconds, atime nanoseconds, mtime seconds, mtime nanoseconds. */
  int utimensat(int dirfd, byte[] path, long[] times, int flags) throws LastErrorException;

  int futimens(int fd, long[] times) throws LastErrorException;

  long copy_file_range(int fdIn, long[] offIn, int fdOut, long[] offOut, long len, int flags)
      throws LastErrorException;

  long pread(int fd, ByteBuffer buf, long count, long offset) throws LastErrorException;

  long pwrite(int fd, ByteBuffer buf, long count, long offset) throws LastErrorException;

  long lseek(int fd, long offset, int whence) throws LastErrorException;

  int ftruncate(int fd, long length) throws LastErrorException;

  int fsync(int fd) throws LastErrorException;

  int syncfs(int fd) throws LastErrorException;

  /** Returns the error number itself instead of setting errno. */
  int posix_fadvise(int fd, long offset, long len, int advice);

  long flistxattr(int fd, byte[] list, long size) throws LastErrorException;

  long fgetxattr(int fd, byte[] name, byte[] value, long size) throws LastErrorException;

  int fsetxattr(int fd, byte[] name, byte[] value, long size, int flags) throws LastErrorException;

  int fremovexattr(int fd, byte[] name) throws LastErrorException;

  // Path forms, for items no fd can be read through (symlinks, devices): given
  // /proc/self/fd/N of an O_PATH descriptor, they act on the item itself.
  long listxattr(byte[] path, byte[] list, long size) throws LastErrorException;

  long getxattr(byte[] path, byte[] name, byte[] value, long size) throws LastErrorException;

  int setxattr(byte[] path, byte[] name, byte[] value, long size, int flags)
      throws LastErrorException;

  String strerror(int errnum);
}
