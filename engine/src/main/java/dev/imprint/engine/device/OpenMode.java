package dev.imprint.engine.device;

/**
 * How to open a restore target.
 *
 * @param exclusive open a block device with O_EXCL, so the kernel refuses while it is mounted or
 *     held, and nothing can mount it while we write (ignored for regular files)
 * @param direct use O_DIRECT for aligned I/O where the filesystem allows it, so writes bypass the
 *     page cache and verification reads see the disk
 */
public record OpenMode(boolean exclusive, boolean direct) {
  /** What a restore uses: nobody else may touch the device, and I/O bypasses the page cache. */
  public static final OpenMode RESTORE = new OpenMode(true, true);

  /** Plain buffered access that does not stop others opening the device. */
  public static final OpenMode SHARED = new OpenMode(false, false);

  public OpenMode withExclusive(boolean exclusive) {
    return new OpenMode(exclusive, direct);
  }

  public OpenMode withDirect(boolean direct) {
    return new OpenMode(exclusive, direct);
  }
}
