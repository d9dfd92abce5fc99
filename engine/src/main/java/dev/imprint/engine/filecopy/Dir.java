package dev.imprint.engine.filecopy;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A directory of the source and its counterpart on the target, both held open while anything under
 * them is in flight: items are named relative to these descriptors (no path ever grows past
 * PATH_MAX), and the directory's own metadata is set once its last child is done (adding a child
 * changes a directory's mtime).
 */
final class Dir {
  final Dir parent;

  /** The name in the parent, without NUL; empty for the root. */
  final byte[] name;

  final int src;
  final int tgt;
  final Stat stat;
  private final AtomicInteger pending = new AtomicInteger(1);

  Dir(Dir parent, byte[] name, int src, int tgt, Stat stat) {
    this.parent = parent;
    this.name = name;
    this.src = src;
    this.tgt = tgt;
    this.stat = stat;
  }

  void hold() {
    pending.incrementAndGet();
  }

  /** Whether this was the last hold: the directory is done. */
  boolean release() {
    return pending.decrementAndGet() == 0;
  }

  /** The path from the root, as bytes without NUL ("" for the root). */
  byte[] path() {
    return parent == null ? new byte[0] : Names.join(parent.path(), name);
  }

  /** A child's path from the root, for people. */
  String show(byte[] plainChild) {
    return Names.show(Names.join(path(), plainChild));
  }

  /**
   * A child's path for people, built only if something prints it: most items never need theirs, and
   * building it is the largest cost of a small file's copy after the system calls.
   */
  Object where(byte[] cname) {
    return new Object() {
      @Override
      public String toString() {
        return show(Names.plain(cname));
      }
    };
  }

  /** This directory's path from the root, for people ("." for the root). */
  String show() {
    return parent == null ? "." : Names.show(path());
  }
}
