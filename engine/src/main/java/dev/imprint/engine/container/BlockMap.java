package dev.imprint.engine.container;

import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.Extent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where each fixed-size block of a container's disk lives (qcow2 clusters, VHD and VHDX blocks): in
 * runs of blocks stored one after the other in its file, as one compressed block, as zeros, or
 * nowhere. Built once from the container's tables (and checked then); read by any number of threads
 * after. About 21 bytes per run: qemu-img writes long runs, so a disk of any size needs few.
 */
public final class BlockMap {
  /** What a run of blocks holds. */
  public enum Kind {
    /** Stored as is, the run's blocks one after the other from its host offset. */
    STORED,
    /** One block, compressed, at its host offset (not aligned), at most its stored length. */
    COMPRESSED,
    ZERO,
    UNALLOCATED
  }

  private static final Kind[] KINDS = Kind.values();

  private final int blockSize;
  private final long blocks;
  private final long diskSize;
  private final long[] first;
  private final long[] host;
  private final int[] stored;
  private final byte[] kind;
  private final int count;

  private BlockMap(Builder b) {
    this.blockSize = b.blockSize;
    this.blocks = b.blocks;
    this.diskSize = b.diskSize;
    this.count = b.count;
    this.first = Arrays.copyOf(b.first, count);
    this.host = Arrays.copyOf(b.host, count);
    this.stored = Arrays.copyOf(b.stored, count);
    this.kind = Arrays.copyOf(b.kind, count);
  }

  /** A map of a disk of {@code diskSize} bytes in blocks of {@code blockSize}. */
  public static Builder builder(int blockSize, long diskSize) {
    return new Builder(blockSize, diskSize);
  }

  public int blockSize() {
    return blockSize;
  }

  public long diskSize() {
    return diskSize;
  }

  int runs() {
    return count;
  }

  /** The run holding {@code block}. */
  int runAt(long block) {
    int lo = 0;
    int hi = count - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (first[mid] <= block) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  long first(int run) {
    return first[run];
  }

  /** First block after the run. */
  long end(int run) {
    return run + 1 < count ? first[run + 1] : blocks;
  }

  long host(int run) {
    return host[run];
  }

  int stored(int run) {
    return stored[run];
  }

  Kind kind(int run) {
    return KINDS[kind[run]];
  }

  /** Blocks of each kind, indexed by {@link Kind#ordinal}. */
  public long[] blocksByKind() {
    long[] n = new long[KINDS.length];
    for (int r = 0; r < count; r++) {
      n[kind[r]] += end(r) - first[r];
    }
    return n;
  }

  /** The disk as extents: stored and compressed blocks are data. */
  public List<ContainerExtent> extents() {
    List<ContainerExtent> out = new ArrayList<>();
    long at = 0;
    ContainerExtent.Kind last = null;
    for (int r = 0; r < count; r++) {
      ContainerExtent.Kind k =
          switch (kind(r)) {
            case STORED, COMPRESSED -> ContainerExtent.Kind.DATA;
            case ZERO -> ContainerExtent.Kind.ZERO;
            case UNALLOCATED -> ContainerExtent.Kind.UNALLOCATED;
          };
      long end = Math.min(diskSize, end(r) * blockSize);
      if (end <= at) {
        continue;
      }
      if (k == last) {
        ContainerExtent prev = out.remove(out.size() - 1);
        out.add(new ContainerExtent(prev.offset(), end - prev.offset(), k));
      } else {
        out.add(new ContainerExtent(at, end - at, k));
      }
      last = k;
      at = end;
    }
    return List.copyOf(out);
  }

  /**
   * Checks that stored blocks lie inside the file and overlap neither each other nor the
   * container's own structures (headers, tables), and that compressed blocks start inside the file:
   * a table pointing past the end, at itself, or twice at one place is damage.
   *
   * @param metadata the container's structures in its file
   * @param where the container, for messages: "qcow2 image disk.qcow2"
   * @param unit what a block is called: "cluster", "block"
   */
  public void checkPlacement(List<Extent> metadata, long fileSize, String where, String unit)
      throws ImageDamagedException {
    List<long[]> ranges = new ArrayList<>(); // {start, end, run or -1}
    for (Extent m : metadata) {
      if (m.end() > fileSize) {
        throw new ImageDamagedException(
            where
                + ": a table at byte "
                + m.offset()
                + " ("
                + m.length()
                + " bytes) ends past the end of the file ("
                + fileSize
                + " bytes): the image is truncated or damaged (copy it again)");
      }
      ranges.add(new long[] {m.offset(), m.end(), -1});
    }
    for (int r = 0; r < count; r++) {
      if (kind(r) == Kind.COMPRESSED && host[r] >= fileSize) {
        throw pastEnd(where, unit, r, fileSize);
      }
      if (kind(r) != Kind.STORED) {
        continue;
      }
      long bytes = Math.min(diskSize, end(r) * blockSize) - first[r] * blockSize;
      if (host[r] + bytes > fileSize) {
        throw pastEnd(where, unit, r, fileSize);
      }
      ranges.add(new long[] {host[r], host[r] + bytes, r});
    }
    ranges.sort((a, b) -> Long.compare(a[0], b[0]));
    for (int i = 1; i < ranges.size(); i++) {
      long[] a = ranges.get(i - 1);
      long[] b = ranges.get(i);
      if (b[0] < a[1]) {
        long[] data = b[2] >= 0 ? b : a;
        throw new ImageDamagedException(
            where
                + ": "
                + (data[2] >= 0
                    ? unit + " at disk offset " + first[(int) data[2]] * blockSize
                    : "a table")
                + " is stored at file offset "
                + b[0]
                + ", where "
                + (a[2] >= 0 && b[2] >= 0 ? "other data is" : "a table is")
                + " already: its tables overlap, the image is damaged (copy it again)");
      }
    }
  }

  private ImageDamagedException pastEnd(String where, String unit, int r, long fileSize) {
    return new ImageDamagedException(
        where
            + ": "
            + unit
            + " at disk offset "
            + first[r] * blockSize
            + " is stored at file offset "
            + host[r]
            + ", past the end of the file ("
            + fileSize
            + " bytes): the image is truncated or damaged (copy it again)");
  }

  /** Collects runs block by block, in disk order; blocks never added are unallocated. */
  public static final class Builder {
    private final int blockSize;
    private final long diskSize;
    private final long blocks;
    private long[] first = new long[64];
    private long[] host = new long[64];
    private int[] stored = new int[64];
    private byte[] kind = new byte[64];
    private int count;
    private long next;

    private Builder(int blockSize, long diskSize) {
      if (blockSize <= 0 || diskSize < 0) {
        throw new IllegalArgumentException("block size " + blockSize + ", disk " + diskSize);
      }
      this.blockSize = blockSize;
      this.diskSize = diskSize;
      this.blocks = (diskSize + blockSize - 1) / blockSize;
    }

    public long blocks() {
      return blocks;
    }

    /**
     * Records {@code n} blocks from {@code block} on (at or after the last one added).
     *
     * @param host where a stored run or a compressed block starts in the file
     * @param storedLength a compressed block's most stored bytes; 0 otherwise
     */
    public Builder add(long block, long n, Kind k, long host, int storedLength) {
      if (block < next || n <= 0 || block + n > blocks) {
        throw new IllegalArgumentException("blocks " + block + "+" + n + " out of order");
      }
      if (k == Kind.COMPRESSED && n != 1) {
        throw new IllegalArgumentException("a compressed run is one block");
      }
      if (block > next) {
        append(next, Kind.UNALLOCATED, 0, 0);
      }
      if (!extendsLast(block, k, host)) {
        append(block, k, host, storedLength);
      }
      next = block + n;
      return this;
    }

    private boolean extendsLast(long block, Kind k, long h) {
      if (count == 0 || k == Kind.COMPRESSED || kind[count - 1] != k.ordinal()) {
        return false;
      }
      return k != Kind.STORED || host[count - 1] + (block - first[count - 1]) * blockSize == h;
    }

    private void append(long block, Kind k, long h, int s) {
      if (count > 0 && k != Kind.STORED && k != Kind.COMPRESSED && kind[count - 1] == k.ordinal()) {
        return; // zeros or nothing after the same: one run
      }
      if (count == first.length) {
        int len = count * 2;
        first = Arrays.copyOf(first, len);
        host = Arrays.copyOf(host, len);
        stored = Arrays.copyOf(stored, len);
        kind = Arrays.copyOf(kind, len);
      }
      first[count] = block;
      host[count] = h;
      stored[count] = s;
      kind[count] = (byte) k.ordinal();
      count++;
    }

    public BlockMap build() {
      if (next < blocks) {
        append(next, Kind.UNALLOCATED, 0, 0);
      }
      if (count == 0) {
        append(0, Kind.UNALLOCATED, 0, 0);
      }
      return new BlockMap(this);
    }
  }
}
