package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The copy pass: each source item replaces the same-named target item, whatever it is, and nothing
 * else on the target changes (but with --delete). A regular file, symlink or special file is made
 * under a temporary name in its target directory, given its owner, mode, attributes and times, and
 * only then renamed over the real name, so no crash leaves a half-made item under that name. A
 * directory merges into a directory; a directory and a non-directory swap places atomically
 * (RENAME_EXCHANGE) and the old one is deleted.
 */
final class TreeCopy implements Walk.Visitor {
  /** At most this much per sendfile call (it moves at most 0x7ffff000 bytes per call anyway). */
  private static final long SENDFILE_MAX = 1 << 30;

  private static final int BUFFER = 1 << 20;
  private static final String TMP_PREFIX = ".imprint-tmp-";
  private static final ThreadLocal<ByteBuffer> BUFFERS =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(BUFFER));

  private record LinkKey(long dev, long ino) {}

  private record Placed(Dir dir, byte[] cname, boolean[] ok) {}

  private final Excludes excludes;
  private final boolean delete;
  private final FileCopyProgress progress;
  private final LostKinds lost;
  private final Consumer<String> warnings;
  private final Stat targetRoot;

  private final Queue<String> failures = new ConcurrentLinkedQueue<>();
  private final Set<String> notCopied = ConcurrentHashMap.newKeySet();
  private final AtomicLong failedCount = new AtomicLong();
  private volatile String stopped;
  private volatile boolean kernelCopy = true;
  private volatile boolean sendfile = true;
  private volatile boolean noatime = true;
  private final AtomicLong tmpCounter = new AtomicLong();
  private final String tmpTag = TMP_PREFIX + ProcessHandle.current().pid() + "-";

  private final Map<LinkKey, Placed> leaders = new ConcurrentHashMap<>();
  private final Queue<Placed[]> followers = new ConcurrentLinkedQueue<>();

  private Walk walk;

  TreeCopy(
      FileCopyOptions options,
      FileCopyProgress progress,
      LostKinds lost,
      Consumer<String> warnings,
      Stat targetRoot) {
    this.excludes = new Excludes(options.excludes());
    this.delete = options.delete();
    this.progress = progress;
    this.lost = lost;
    this.warnings = warnings;
    this.targetRoot = targetRoot;
  }

  void attach(Walk w) {
    this.walk = w;
  }

  /** Whether the copy must stop (the target is full or read-only). */
  String stopped() {
    return stopped;
  }

  List<String> failures() {
    return new ArrayList<>(failures);
  }

  long failedCount() {
    return failedCount.get();
  }

  /** Whether the source's atimes were safe from our own reads (O_NOATIME was allowed). */
  boolean atimesKept() {
    return noatime;
  }

  // ---- directories (on the walking thread) ----

  @Override
  public boolean excluded(Dir parent, byte[] name) {
    return excludes.matches(parent, name);
  }

  @Override
  public int enter(Dir parent, byte[] cname, Stat stat, int srcFd) {
    String shown = parent.show(Names.plain(cname));
    if (stat.dev() == targetRoot.dev() && stat.ino() == targetRoot.ino()) {
      fail(shown, "is the target itself: left out");
      return -1;
    }
    try {
      Stat t = statOrNull(parent.tgt, cname);
      if (t == null) {
        Sys.mkdirat(parent.tgt, cname, 0700);
      } else if (!t.isDirectory()) {
        byte[] tmp = tmpName();
        Sys.mkdirat(parent.tgt, tmp, 0700);
        Sys.renameat2(parent.tgt, tmp, parent.tgt, cname, Sys.RENAME_EXCHANGE);
        remove(parent.tgt, tmp);
      }
      return Sys.openat(
          parent.tgt, cname, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
    } catch (LastErrorException x) {
      failOn(shown, x);
      return -1;
    }
  }

  @Override
  public void listed(Dir d, List<byte[]> cnames) {
    if (!delete || stopped != null) {
      return;
    }
    Set<ByteBuffer> keep = new HashSet<>();
    for (byte[] n : cnames) {
      keep.add(ByteBuffer.wrap(n));
    }
    try {
      for (byte[][] item : Walk.list(d.tgt)) {
        byte[] n = item[0];
        if (!keep.contains(ByteBuffer.wrap(n)) && !excludes.matches(d, Names.plain(n))) {
          remove(d.tgt, n);
        }
      }
    } catch (LastErrorException x) {
      failOn(d.show() + "/", x);
    }
  }

  @Override
  public void leave(Dir d) {
    try {
      owner(d.tgt, null, d.stat, d.show());
      Sys.fchmod(d.tgt, d.stat.permissions());
      attributes(new Xattrs.Handle(d.src, false), new Xattrs.Handle(d.tgt, false), d.show(), true);
      Sys.futimens(d.tgt, d.stat.times());
      progress.items.incrementAndGet();
    } catch (LastErrorException x) {
      failOn(d.show() + "/", x);
    }
  }

  @Override
  public void failed(String path, String why) {
    fail(path, why);
  }

  @Override
  public void vanished(String path) {
    warnings.accept(path + " disappeared from the source during the copy: not copied");
  }

  @Override
  public void otherFilesystem(String path) {
    warnings.accept(path + " is another filesystem mounted in the source: not copied");
  }

  // ---- items (on the copy pool) ----

  /** Copies one yielded item; tells the walk it is done unless it waits for its hard link. */
  void copy(Walk.Entry e) {
    boolean release = true;
    try {
      if (stopped == null) {
        release = copyItem(e);
      }
    } catch (LastErrorException x) {
      failOn(e.show(), x);
    } catch (RuntimeException x) {
      fail(e.show(), x.toString());
    } finally {
      if (release) {
        walk.done(e.dir());
      }
    }
  }

  private boolean copyItem(Walk.Entry e) {
    Dir dir = e.dir();
    Stat s = e.stat();
    switch (s.type()) {
      case Sys.S_IFREG -> {
        if (s.nlink() > 1) {
          Placed me = new Placed(dir, e.cname(), new boolean[1]);
          Placed leader = leaders.putIfAbsent(new LinkKey(s.dev(), s.ino()), me);
          if (leader != null) {
            followers.add(new Placed[] {me, leader});
            return false; // linked once every file is copied; holds its directory until then
          }
          dir.hold(); // the leader's directory stays open for its followers
          regular(dir, e.cname(), s);
          me.ok()[0] = true;
        } else {
          regular(dir, e.cname(), s);
        }
      }
      case Sys.S_IFLNK -> {
        byte[] target = readlink(dir.src, e.cname(), s.size());
        special(dir, e.cname(), s, tmp -> Sys.symlinkat(target, dir.tgt, tmp));
      }
      case Sys.S_IFIFO, Sys.S_IFSOCK, Sys.S_IFCHR, Sys.S_IFBLK -> {
        boolean device = s.type() == Sys.S_IFCHR || s.type() == Sys.S_IFBLK;
        try {
          special(dir, e.cname(), s, tmp -> Sys.mknodat(dir.tgt, tmp, s.type() | 0600, s.rdev()));
        } catch (LastErrorException x) {
          if (device && LostKinds.refused(x.getErrorCode())) {
            lost.lost(LostKinds.DEVICES, e.show(), x.getErrorCode());
            notCopied.add(e.show());
            return true;
          }
          throw x;
        }
      }
      default ->
          fail(e.show(), "unknown kind of item (mode " + Integer.toOctalString(s.mode()) + ")");
    }
    return true;
  }

  private interface Maker {
    void make(byte[] tmp);
  }

  /** A symlink, FIFO, socket or device node: made under a temporary name, then renamed. */
  private void special(Dir dir, byte[] cname, Stat s, Maker maker) {
    byte[] tmp = tmpName();
    maker.make(tmp);
    Object shown = dir.where(cname);
    try {
      owner(dir.tgt, tmp, s, shown);
      if (!s.isSymlink()) {
        Sys.fchmodat(dir.tgt, tmp, s.permissions(), 0);
      }
      int from = openPath(dir.src, cname);
      int to = openPath(dir.tgt, tmp);
      try {
        attributes(new Xattrs.Handle(from, true), new Xattrs.Handle(to, true), shown, false);
      } finally {
        Walk.close(from);
        Walk.close(to);
      }
      Sys.utimensat(dir.tgt, tmp, s.times(), Sys.AT_SYMLINK_NOFOLLOW);
      place(dir.tgt, tmp, cname);
      progress.items.incrementAndGet();
    } catch (LastErrorException x) {
      discard(dir.tgt, tmp);
      throw x;
    }
  }

  private void regular(Dir dir, byte[] cname, Stat s) {
    Object shown = dir.where(cname);
    int in = openSource(dir.src, cname);
    byte[] tmp = tmpName();
    int out = -1;
    try {
      out = Sys.openat(dir.tgt, tmp, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_EXCL | Sys.O_CLOEXEC, 0600);
      content(in, out, s);
      owner(out, null, s, shown);
      Sys.fchmod(out, s.permissions());
      attributes(new Xattrs.Handle(in, false), new Xattrs.Handle(out, false), shown, false);
      Sys.futimens(out, s.times());
      Stat after = Stat.of(in);
      if (after.size() != s.size()
          || after.mtimeSec() != s.mtimeSec()
          || after.mtimeNsec() != s.mtimeNsec()) {
        warnings.accept(shown + " changed in the source during the copy: its copy may not match");
      }
      Sys.close(out);
      out = -1;
      place(dir.tgt, tmp, cname);
      progress.items.incrementAndGet();
    } catch (LastErrorException x) {
      Walk.close(out);
      discard(dir.tgt, tmp);
      throw x;
    } finally {
      Walk.close(in);
    }
  }

  private int openSource(int dirfd, byte[] cname) {
    int flags = Sys.O_RDONLY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC;
    if (noatime) {
      try {
        return Sys.openat(dirfd, cname, flags | Sys.O_NOATIME, 0);
      } catch (LastErrorException x) {
        if (x.getErrorCode() != Sys.EPERM) {
          throw x;
        }
        noatime = false; // not the owner and not root: reads may touch atimes
      }
    }
    return Sys.openat(dirfd, cname, flags, 0);
  }

  /** The data, holes kept: only the ranges SEEK_DATA finds are copied in a sparse file. */
  private void content(int in, int out, Stat s) {
    long size = s.size();
    if (size == 0) {
      return;
    }
    boolean sparse = s.blocks() * 512 < size;
    if (!sparse) {
      range(in, out, 0, size);
      return;
    }
    long off = 0;
    while (off < size) {
      long data;
      try {
        data = Sys.lseek(in, off, Sys.SEEK_DATA);
      } catch (LastErrorException x) {
        if (x.getErrorCode() == 6) { // ENXIO: only a hole remains
          break;
        }
        throw x;
      }
      long hole = Sys.lseek(in, data, Sys.SEEK_HOLE);
      range(in, out, data, Math.min(hole, size));
      off = hole;
    }
    Sys.ftruncate(out, size);
  }

  /**
   * Copies [from, to) in the kernel when it can: copy_file_range (a reflink or a server-side copy
   * where the filesystems offer one; refused across different filesystems), else sendfile (any two
   * files: one call for a small file and no copy through user space), else pread and pwrite. Each
   * refusal is learned once for the whole copy.
   */
  private void range(int in, int out, long from, long to) {
    long off = from;
    boolean positioned = false;
    while (off < to) {
      long len = to - off;
      long n;
      if (kernelCopy) {
        try {
          n = Sys.copy_file_range(in, new long[] {off}, out, new long[] {off}, len, 0);
        } catch (LastErrorException x) {
          if (!refusal(x)) {
            throw x;
          }
          kernelCopy = false;
          continue;
        }
      } else if (sendfile) {
        try {
          if (!positioned && off != 0) {
            Sys.lseek(out, off, Sys.SEEK_SET); // sendfile writes at the file position
          }
          positioned = true;
          n = Sys.sendfile(out, in, new long[] {off}, Math.min(len, SENDFILE_MAX));
        } catch (LastErrorException x) {
          if (!refusal(x)) {
            throw x;
          }
          sendfile = false;
          continue;
        }
      } else {
        ByteBuffer b = BUFFERS.get();
        n = Sys.pread(in, b.clear(), Math.min(len, BUFFER), off);
        for (long w = 0; w < n; ) {
          b.clear().position((int) w);
          w += Sys.pwrite(out, b.slice(), n - w, off + w);
        }
      }
      if (n == 0) {
        return; // the source shrank; the check after the copy says so
      }
      off += n;
      progress.bytes.addAndGet(n);
    }
  }

  private static boolean refusal(LastErrorException x) {
    int err = x.getErrorCode();
    return err == Sys.EXDEV || err == Sys.EINVAL || err == Sys.EOPNOTSUPP || err == Sys.ENOSYS;
  }

  private void owner(int fdOrDir, byte[] name, Stat s, Object shown) {
    try {
      if (name == null) {
        Sys.fchown(fdOrDir, s.uid(), s.gid());
      } else {
        Sys.fchownat(fdOrDir, name, s.uid(), s.gid(), Sys.AT_SYMLINK_NOFOLLOW);
      }
    } catch (LastErrorException x) {
      if (!LostKinds.refused(x.getErrorCode())) {
        throw x;
      }
      lost.lost(LostKinds.OWNERSHIP, shown, x.getErrorCode());
    }
  }

  /** The source's attributes onto the target; on a merged directory, the extra ones go too. */
  private void attributes(Xattrs.Handle from, Xattrs.Handle to, Object shown, boolean prune) {
    Map<String, byte[]> want;
    try {
      want = Xattrs.read(from);
    } catch (LastErrorException x) {
      if (x.getErrorCode() == Sys.EOPNOTSUPP) {
        return; // the source's filesystem has none
      }
      throw x;
    }
    if (prune) {
      Map<String, byte[]> have;
      try {
        have = Xattrs.read(to);
      } catch (LastErrorException x) {
        have = Map.of();
      }
      for (String name : have.keySet()) {
        if (!want.containsKey(name)) {
          try {
            Sys.fremovexattr(to.fd(), Xattrs.cName(name));
          } catch (LastErrorException x) {
            // an attribute we may not remove (another's namespace) stays; verify reports it
          }
        }
      }
    }
    for (var a : want.entrySet()) {
      try {
        to.set(Xattrs.cName(a.getKey()), a.getValue());
      } catch (LastErrorException x) {
        if (!LostKinds.refused(x.getErrorCode())) {
          throw x;
        }
        lost.lost(Xattrs.kind(a.getKey()), shown, x.getErrorCode());
      }
    }
  }

  /** Moves a finished temporary item over the real name, whatever is there now. */
  private void place(int dirfd, byte[] tmp, byte[] cname) {
    try {
      Sys.renameat2(dirfd, tmp, dirfd, cname, 0);
    } catch (LastErrorException x) {
      int err = x.getErrorCode();
      if (err != Sys.EISDIR && err != Sys.ENOTEMPTY && err != Sys.EEXIST) {
        throw x;
      }
      // A directory is there: swap, then delete the old directory now under the temporary name.
      Sys.renameat2(dirfd, tmp, dirfd, cname, Sys.RENAME_EXCHANGE);
      remove(dirfd, tmp);
    }
  }

  /** After the walk: the second and later names of hard-linked files, linked to the first. */
  void links() {
    for (Placed[] pair : followers) {
      Placed me = pair[0];
      Placed leader = pair[1];
      String shown = me.dir().show(Names.plain(me.cname()));
      try {
        if (stopped != null) {
          continue;
        }
        if (!leader.ok()[0]) {
          fail(
              shown,
              "not linked: "
                  + leader.dir().show(Names.plain(leader.cname()))
                  + ", the file it is a hard link to, was not copied");
          continue;
        }
        byte[] tmp = tmpName();
        Sys.linkat(leader.dir().tgt, leader.cname(), me.dir().tgt, tmp, 0);
        try {
          place(me.dir().tgt, tmp, me.cname());
        } catch (LastErrorException x) {
          discard(me.dir().tgt, tmp);
          throw x;
        }
        progress.items.incrementAndGet();
      } catch (LastErrorException x) {
        failOn(shown, x);
      } finally {
        walk.done(me.dir());
      }
    }
    for (Placed leader : leaders.values()) {
      walk.done(leader.dir());
    }
  }

  // ---- helpers ----

  private byte[] tmpName() {
    return Names.c(tmpTag + tmpCounter.incrementAndGet());
  }

  private static Stat statOrNull(int dirfd, byte[] cname) {
    try {
      return Stat.of(dirfd, cname);
    } catch (LastErrorException x) {
      if (x.getErrorCode() == Sys.ENOENT) {
        return null;
      }
      throw x;
    }
  }

  private static int openPath(int dirfd, byte[] cname) {
    return Sys.openat(dirfd, cname, Sys.O_PATH | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
  }

  private static byte[] readlink(int dirfd, byte[] cname, long size) {
    for (long cap = Math.max(size + 1, 256); ; cap *= 2) {
      byte[] buf = new byte[(int) cap];
      long n = Sys.readlinkat(dirfd, cname, buf, cap);
      if (n < cap) {
        return Arrays.copyOf(buf, (int) n + 1); // NUL-terminated for symlinkat
      }
    }
  }

  /** Removes a name, a whole tree if it is a directory. */
  static void remove(int dirfd, byte[] cname) {
    try {
      Sys.unlinkat(dirfd, cname, 0);
      return;
    } catch (LastErrorException x) {
      if (x.getErrorCode() != Sys.EISDIR) {
        throw x;
      }
    }
    int fd =
        Sys.openat(
            dirfd, cname, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, 0);
    try {
      for (byte[][] item : Walk.list(fd)) {
        remove(fd, item[0]);
      }
    } finally {
      Walk.close(fd);
    }
    Sys.unlinkat(dirfd, cname, Sys.AT_REMOVEDIR);
  }

  private static void discard(int dirfd, byte[] tmp) {
    try {
      remove(dirfd, tmp);
    } catch (LastErrorException ignored) {
      // not made yet, or already gone
    }
  }

  private void failOn(String shown, LastErrorException x) {
    int err = x.getErrorCode();
    if (err == Sys.ENOSPC || err == Sys.EDQUOT) {
      stop("the target is full (at " + shown + "): free space on it or copy less (--exclude)");
    } else if (err == 30) { // EROFS
      stop("the target became read-only (at " + shown + "): check it with its fsck");
    } else if (err == Sys.ENAMETOOLONG) {
      fail(shown, "name too long for the target filesystem: not copied");
    } else {
      fail(shown, Errors.describe(err));
    }
  }

  private void stop(String why) {
    if (stopped == null) {
      stopped = why;
    }
  }

  private void fail(String shown, String why) {
    notCopied.add(shown);
    if (failedCount.incrementAndGet() <= 1000) {
      failures.add(shown + ": " + why);
    }
    warnings.accept(shown + ": " + why);
  }

  /** Items (as shown) that were not copied, which verification leaves alone. */
  Set<String> notCopied() {
    return notCopied;
  }
}
