package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What statx(2) says about one item, never following a symlink: the fields a faithful copy keeps
 * and compares.
 */
record Stat(
    int mode,
    int uid,
    int gid,
    int nlink,
    long ino,
    long dev,
    long rdev,
    long size,
    long blocks,
    long atimeSec,
    int atimeNsec,
    long mtimeSec,
    int mtimeNsec) {

  int type() {
    return mode & Sys.S_IFMT;
  }

  int permissions() {
    return mode & 07777;
  }

  boolean isDirectory() {
    return type() == Sys.S_IFDIR;
  }

  boolean isRegular() {
    return type() == Sys.S_IFREG;
  }

  boolean isSymlink() {
    return type() == Sys.S_IFLNK;
  }

  /** Kernel dev_t encoding (glibc's makedev) of a major/minor pair. */
  static long makedev(long major, long minor) {
    return ((major & 0xfffff000L) << 32)
        | ((major & 0xfffL) << 8)
        | ((minor & 0xffffff00L) << 12)
        | (minor & 0xffL);
  }

  /** atime and mtime as utimensat(2) takes them. */
  long[] times() {
    return new long[] {atimeSec, atimeNsec, mtimeSec, mtimeNsec};
  }

  /** Of {@code name} in {@code dirfd}, or of {@code dirfd} itself when name is empty. */
  static Stat of(int dirfd, byte[] name) throws LastErrorException {
    byte[] buf = new byte[256];
    int flags = Sys.AT_SYMLINK_NOFOLLOW | (name.length <= 1 ? Sys.AT_EMPTY_PATH : 0);
    Sys.statx(dirfd, name, flags, Sys.STATX_BASIC, buf);
    ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder());
    return new Stat(
        b.getShort(28) & 0xffff,
        b.getInt(20),
        b.getInt(24),
        b.getInt(16),
        b.getLong(32),
        makedev(b.getInt(136) & 0xffffffffL, b.getInt(140) & 0xffffffffL),
        makedev(b.getInt(128) & 0xffffffffL, b.getInt(132) & 0xffffffffL),
        b.getLong(40),
        b.getLong(48),
        b.getLong(64),
        b.getInt(72),
        b.getLong(112),
        b.getInt(120));
  }

  /** Of an open descriptor. */
  static Stat of(int fd) throws LastErrorException {
    return of(fd, Names.EMPTY);
  }
}
