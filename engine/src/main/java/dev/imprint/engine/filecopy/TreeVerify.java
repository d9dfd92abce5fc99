package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The verify pass: walks the source again and compares every copied item with its target, type,
 * mode, owner, times to the nanosecond, size, content, link target, device number, attributes and
 * hard links, the target's content read with O_DIRECT (or dropped from the page cache first where
 * the filesystem refuses O_DIRECT) so a cached page can't answer for the disk.
 */
final class TreeVerify implements Walk.Visitor {
  private static final int BUFFER = 1 << 20;
  private static final ThreadLocal<ByteBuffer[]> BUFFERS =
      ThreadLocal.withInitial(
          () ->
              new ByteBuffer[] {
                ByteBuffer.allocateDirect(BUFFER),
                ByteBuffer.allocateDirect(BUFFER + 8192).alignedSlice(4096)
              });

  private record LinkKey(long dev, long ino) {}

  private final Excludes excludes;
  private final Set<String> notCopied;
  private final LostKinds lost;
  private final boolean atimes;
  private final FileCopyProgress progress;
  private final Queue<String> differences = new ConcurrentLinkedQueue<>();
  private final AtomicLong count = new AtomicLong();
  private final Map<LinkKey, Long> links = new ConcurrentHashMap<>();
  private Walk walk;

  TreeVerify(
      FileCopyOptions options,
      Set<String> notCopied,
      LostKinds lost,
      boolean atimes,
      FileCopyProgress progress) {
    this.excludes = new Excludes(options.excludes());
    this.notCopied = notCopied;
    this.lost = lost;
    this.atimes = atimes;
    this.progress = progress;
  }

  void attach(Walk w) {
    this.walk = w;
  }

  List<String> differences() {
    return new ArrayList<>(differences);
  }

  long count() {
    return count.get();
  }

  @Override
  public boolean excluded(Dir parent, byte[] name) {
    return excludes.matches(parent, name)
        || (!notCopied.isEmpty() && notCopied.contains(parent.show(name)));
  }

  @Override
  public int enter(Dir parent, byte[] cname, Stat stat, int srcFd) {
    String shown = parent.show(Names.plain(cname));
    int tgt;
    try {
      tgt =
          Sys.openat(
              parent.tgt,
              cname,
              Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC,
              0);
    } catch (LastErrorException x) {
      differ(
          shown,
          x.getErrorCode() == Sys.ENOENT
              ? "missing on the target"
              : "not a directory on the target");
      return -1;
    }
    directory(shown, srcFd, tgt, stat);
    return tgt;
  }

  /** The metadata of a directory pair (the root's too). */
  void directory(String shown, int src, int tgt, Stat s) {
    List<String> d = new ArrayList<>();
    try {
      Stat t = Stat.of(tgt);
      metadata(s, t, d);
      attributes(new Xattrs.Handle(src, false), new Xattrs.Handle(tgt, false), d);
    } catch (LastErrorException x) {
      d.add("cannot be read on the target: " + Errors.describe(x.getErrorCode()));
    }
    report(shown + "/", d);
    progress.items.incrementAndGet();
  }

  @Override
  public void listed(Dir d, List<byte[]> cnames) {}

  @Override
  public void leave(Dir d) {}

  @Override
  public void failed(String path, String why) {
    // the copy said so already
  }

  /** Compares one yielded item. */
  void check(Walk.Entry e) {
    try {
      item(e);
    } catch (LastErrorException x) {
      differ(e.show(), "cannot be compared: " + Errors.describe(x.getErrorCode()));
    } finally {
      walk.done(e.dir());
    }
  }

  private void item(Walk.Entry e) {
    Dir dir = e.dir();
    Object shown = dir.where(e.cname());
    Stat s = e.stat(); // gone from the source since the copy: the walk left it out
    Stat t;
    try {
      t = Stat.of(dir.tgt, e.cname());
    } catch (LastErrorException x) {
      differ(shown, "missing on the target");
      return;
    }
    List<String> d = new ArrayList<>();
    if (s.type() != t.type()) {
      differ(shown, "is a " + kind(t) + " on the target, a " + kind(s) + " in the source");
      return;
    }
    metadata(s, t, d);
    switch (s.type()) {
      case Sys.S_IFREG -> {
        if (s.nlink() > 1) {
          Long first = links.putIfAbsent(new LinkKey(s.dev(), s.ino()), t.ino());
          if (first != null && first != t.ino()) {
            d.add("not hard-linked to the other names of its source file");
          }
        }
        int in =
            Sys.openat(
                dir.src,
                e.cname(),
                Sys.O_RDONLY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC | (atimes ? Sys.O_NOATIME : 0),
                0);
        try {
          int out = openPastCache(dir.tgt, e.cname());
          try {
            if (s.size() == t.size()) {
              content(in, out, s.size(), d);
            }
            attributes(new Xattrs.Handle(in, false), new Xattrs.Handle(out, false), d);
          } finally {
            Walk.close(out);
          }
        } finally {
          Walk.close(in);
        }
      }
      case Sys.S_IFLNK -> {
        if (!Arrays.equals(link(dir.src, e.cname()), link(dir.tgt, e.cname()))) {
          d.add("link target differs");
        }
        specialAttributes(dir, e.cname(), d);
      }
      case Sys.S_IFCHR, Sys.S_IFBLK -> {
        if (s.rdev() != t.rdev()) {
          d.add("device number differs");
        }
        specialAttributes(dir, e.cname(), d);
      }
      default -> specialAttributes(dir, e.cname(), d);
    }
    report(shown, d);
    progress.items.incrementAndGet();
  }

  private void metadata(Stat s, Stat t, List<String> d) {
    if (s.permissions() != t.permissions()) {
      d.add(
          "mode "
              + Integer.toOctalString(t.permissions())
              + " on the target, "
              + Integer.toOctalString(s.permissions())
              + " in the source");
    }
    if (!lost.has(LostKinds.OWNERSHIP) && (s.uid() != t.uid() || s.gid() != t.gid())) {
      d.add(
          "owner "
              + t.uid()
              + ":"
              + t.gid()
              + " on the target, "
              + s.uid()
              + ":"
              + s.gid()
              + " in the source");
    }
    if (s.isRegular() && s.size() != t.size()) {
      d.add("size " + t.size() + " on the target, " + s.size() + " in the source");
    }
    if (s.mtimeSec() != t.mtimeSec() || s.mtimeNsec() != t.mtimeNsec()) {
      d.add("modification time differs");
    }
    // readlink touches a symlink's atime: no copy can keep it, nor this comparison read it.
    if (atimes
        && !s.isDirectory()
        && !s.isSymlink()
        && (s.atimeSec() != t.atimeSec() || s.atimeNsec() != t.atimeNsec())) {
      d.add("access time differs");
    }
  }

  private void specialAttributes(Dir dir, byte[] cname, List<String> d) {
    int from = Sys.openat(dir.src, cname, Sys.O_PATH | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
    try {
      int to = Sys.openat(dir.tgt, cname, Sys.O_PATH | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
      try {
        attributes(new Xattrs.Handle(from, true), new Xattrs.Handle(to, true), d);
      } finally {
        Walk.close(to);
      }
    } finally {
      Walk.close(from);
    }
  }

  private void attributes(Xattrs.Handle src, Xattrs.Handle tgt, List<String> d) {
    Map<String, byte[]> want = readOrEmpty(src);
    Map<String, byte[]> got = readOrEmpty(tgt);
    // Kinds the target refused are not held against it.
    want.keySet().removeIf(n -> lost.has(Xattrs.kind(n)));
    got.keySet().removeIf(n -> lost.has(Xattrs.kind(n)));
    for (String x : Xattrs.differences(want, got)) {
      d.add("attribute " + x);
    }
  }

  private static Map<String, byte[]> readOrEmpty(Xattrs.Handle h) {
    try {
      return Xattrs.read(h);
    } catch (LastErrorException x) {
      if (x.getErrorCode() == Sys.EOPNOTSUPP) {
        return new java.util.HashMap<>();
      }
      throw x;
    }
  }

  private static int openPastCache(int dirfd, byte[] cname) {
    int flags = Sys.O_RDONLY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC | Sys.O_NOATIME;
    try {
      return Sys.openat(dirfd, cname, flags | Sys.O_DIRECT, 0);
    } catch (LastErrorException x) {
      if (x.getErrorCode() != Sys.EINVAL) {
        throw x;
      }
    }
    // No O_DIRECT here: drop the file's (clean, after syncfs) pages, then read.
    int fd = Sys.openat(dirfd, cname, flags, 0);
    Sys.posix_fadvise(fd, 0, 0, Sys.POSIX_FADV_DONTNEED);
    return fd;
  }

  private void content(int in, int out, long size, List<String> d) {
    ByteBuffer[] b = BUFFERS.get();
    for (long off = 0; off < size; ) {
      long want = Math.min(BUFFER, size - off);
      long a = readFully(in, b[0], want, off);
      // O_DIRECT wants whole blocks: ask for a rounded-up length, the file's end cuts it short.
      long b1 = readFully(out, b[1], (want + 4095) & ~4095L, off);
      long n = Math.min(a, Math.min(b1, want));
      int at = b[0].clear().limit((int) n).mismatch(b[1].clear().limit((int) n));
      if (at >= 0 || n < want) {
        d.add("content differs at byte " + (off + Math.max(at, 0)));
        return;
      }
      off += n;
      progress.bytes.addAndGet(n);
    }
  }

  private static long readFully(int fd, ByteBuffer b, long len, long off) {
    long got = 0;
    while (got < len) {
      b.clear().position((int) got);
      long n = Sys.pread(fd, b.slice(), len - got, off + got);
      if (n <= 0) {
        break;
      }
      got += n;
    }
    return got;
  }

  private static byte[] link(int dirfd, byte[] cname) {
    byte[] buf = new byte[4097];
    long n = Sys.readlinkat(dirfd, cname, buf, buf.length);
    return Arrays.copyOf(buf, (int) n);
  }

  private static String kind(Stat s) {
    return switch (s.type()) {
      case Sys.S_IFREG -> "file";
      case Sys.S_IFDIR -> "directory";
      case Sys.S_IFLNK -> "symlink";
      case Sys.S_IFIFO -> "FIFO";
      case Sys.S_IFSOCK -> "socket";
      case Sys.S_IFCHR -> "character device";
      case Sys.S_IFBLK -> "block device";
      default -> "item of mode " + Integer.toOctalString(s.mode());
    };
  }

  private void report(Object shown, List<String> d) {
    if (!d.isEmpty()) {
      differ(shown, String.join(", ", d));
    }
  }

  private void differ(Object shown, String what) {
    if (count.incrementAndGet() <= 1000) {
      differences.add(shown + ": " + what);
    }
  }
}
