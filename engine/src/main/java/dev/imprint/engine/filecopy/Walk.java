package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A depth-first walk of the source tree that yields every item but directories, which it handles
 * itself as it enters them (their target must exist before their children are written). One thread
 * walks; the items it yields are finished on others, and each calls {@link #done} when it is.
 * Directory descriptors stay open only while something under them is in flight.
 */
final class Walk implements Iterator<Walk.Entry> {
  /**
   * One item of a directory: its NUL-terminated name, getdents's d_type and, for a yielded item,
   * what statx said when the walk reached it (the walk stats every item, so that the stream can
   * weigh items by size and the copy needs no statx of its own).
   */
  record Entry(Dir dir, byte[] cname, int dtype, Stat stat) {
    byte[] name() {
      return Names.plain(cname);
    }

    String show() {
      return dir.show(name());
    }
  }

  /** What the walk does with directories: copy decides and creates, verify compares. */
  interface Visitor {
    /** Whether an item is left out (--exclude). */
    boolean excluded(Dir parent, byte[] name);

    /**
     * The target descriptor of a source directory child, or -1 to leave it and everything under it
     * out (the visitor said why).
     */
    int enter(Dir parent, byte[] cname, Stat stat, int srcFd);

    /** The source directory's items have been listed (before any of them is yielded). */
    void listed(Dir d, List<byte[]> cnames);

    /** Everything under {@code d} is done: its own metadata can be set or compared. */
    void leave(Dir d);

    /** A source directory could not be read. */
    void failed(String path, String why);

    /** A directory on another filesystem than the source's top (a mount point): left out. */
    default void otherFilesystem(String path) {}

    /** An item listed but gone before the walk could stat it. */
    default void vanished(String path) {}
  }

  static final int DT_UNKNOWN = 0;
  static final int DT_DIR = 4;

  private record Level(Dir dir, List<Entry> entries, int[] next) {}

  private final Visitor visitor;
  private final long device;
  private final Deque<Level> stack = new ArrayDeque<>();
  private Entry ahead;

  Walk(Dir root, Visitor visitor) {
    this.visitor = visitor;
    this.device = root.stat.dev();
    push(root);
  }

  @Override
  public boolean hasNext() {
    if (ahead == null) {
      ahead = advance();
    }
    return ahead != null;
  }

  @Override
  public Entry next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    Entry e = ahead;
    ahead = null;
    return e;
  }

  /** Gives up the rest of the walk: every directory still listed is released unvisited. */
  void abandon() {
    if (ahead != null) {
      done(ahead.dir());
      ahead = null;
    }
    while (!stack.isEmpty()) {
      done(stack.pop().dir());
    }
  }

  /** The item yielded for {@code dir} is finished (copied, failed or skipped). */
  void done(Dir dir) {
    if (dir.release()) {
      visitor.leave(dir);
      close(dir.src);
      close(dir.tgt);
      if (dir.parent != null) {
        done(dir.parent);
      }
    }
  }

  private Entry advance() {
    while (!stack.isEmpty()) {
      Level top = stack.peek();
      if (top.next[0] == top.entries.size()) {
        stack.pop();
        done(top.dir);
        continue;
      }
      Entry e = top.entries.get(top.next[0]++);
      if (visitor.excluded(e.dir, e.name())) {
        continue;
      }
      Stat stat;
      try {
        stat = Stat.of(e.dir.src, e.cname);
      } catch (LastErrorException x) {
        if (x.getErrorCode() == Sys.ENOENT) {
          visitor.vanished(e.show());
        } else {
          visitor.failed(e.show(), Errors.describe(x.getErrorCode()));
        }
        continue; // nothing to copy
      }
      if (!stat.isDirectory()) {
        e.dir.hold();
        return new Entry(e.dir, e.cname, e.dtype, stat);
      }
      enterDirectory(e, stat);
    }
    return null;
  }

  private void enterDirectory(Entry e, Stat stat) {
    // Like cp -x: a volume is copied, not what is mounted on it (/proc under a copied /).
    if (stat.dev() != device) {
      visitor.otherFilesystem(e.show() + "/");
      return;
    }
    int src;
    try {
      src =
          Sys.openat(
              e.dir.src,
              e.cname,
              Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC,
              0);
    } catch (LastErrorException x) {
      if (x.getErrorCode() != Sys.ENOENT) {
        visitor.failed(e.show() + "/", "cannot open: " + Errors.describe(x.getErrorCode()));
      }
      return;
    }
    int tgt = visitor.enter(e.dir, e.cname, stat, src);
    if (tgt < 0) {
      close(src);
      return;
    }
    e.dir.hold();
    push(new Dir(e.dir, e.name(), src, tgt, stat));
  }

  private void push(Dir d) {
    List<Entry> entries = new ArrayList<>();
    try {
      for (byte[][] item : list(d.src)) {
        entries.add(new Entry(d, item[0], item[1][0], null));
      }
    } catch (LastErrorException x) {
      visitor.failed(d.show() + "/", "cannot list: " + Errors.describe(x.getErrorCode()));
    }
    List<byte[]> names = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      names.add(e.cname);
    }
    visitor.listed(d, names);
    stack.push(new Level(d, entries, new int[1]));
  }

  /** Every name in a directory but . and .., each as {NUL-terminated name, {d_type}}. */
  static List<byte[][]> list(int dirfd) {
    List<byte[][]> result = new ArrayList<>();
    byte[] buf = new byte[64 << 10];
    // getdents continues where the descriptor's position is: start at the beginning.
    Sys.lseek(dirfd, 0, Sys.SEEK_SET);
    while (true) {
      long n = Sys.getdents64(dirfd, buf, buf.length);
      if (n == 0) {
        return result;
      }
      int at = 0;
      while (at < n) {
        int reclen = (buf[at + 16] & 0xff) | (buf[at + 17] & 0xff) << 8;
        int type = buf[at + 18];
        int start = at + 19;
        int end = start;
        while (buf[end] != 0) {
          end++;
        }
        int len = end - start;
        boolean dots =
            (len == 1 && buf[start] == '.')
                || (len == 2 && buf[start] == '.' && buf[start + 1] == '.');
        if (!dots) {
          result.add(new byte[][] {Arrays.copyOfRange(buf, start, end + 1), {(byte) type}});
        }
        at += reclen;
      }
    }
  }

  static void close(int fd) {
    if (fd >= 0) {
      try {
        Sys.close(fd);
      } catch (LastErrorException ignored) {
        // a close error on a read-only or already written descriptor changes nothing
      }
    }
  }
}
