package dev.imprint.engine.pipeline;

import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.partition.GptRelocation;
import dev.imprint.engine.partition.PartitionEntry;
import dev.imprint.engine.partition.PartitionTable;
import dev.imprint.engine.partition.PartitionTables;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes chunks to one target on its own threads. A failure marks this target failed and from then
 * on it only releases chunks, so one dead disk never holds up the others.
 */
public final class TargetWriter implements AutoCloseable {
  /** Old signatures at the start and end of a disk are wiped over this length. */
  static final long WIPE = 1 << 20;

  /** Positional writes in flight per target: queue depth is what makes direct I/O fast. */
  public static final int WRITES_IN_FLIGHT = 4;

  private final String name;
  private final TargetDevice device;
  private final boolean discard;
  private final boolean cutAtEnd;
  private final ExecutorService io;
  private final AtomicLong written = new AtomicLong();
  private volatile IOException failure;
  private final Map<Long, Long> changed = new HashMap<>();
  private final List<Extent> skipped = new ArrayList<>();
  private final Map<Long, Chunk.Range> clipped = new HashMap<>();
  private boolean fresh;
  private volatile boolean tablesWritten;

  public TargetWriter(String name, TargetDevice device, boolean discard) {
    this(name, device, discard, false);
  }

  /**
   * @param cutAtEnd data past a smaller disk's end may be dropped: only when the image's size check
   *     proved that nothing but its backup GPT lies there
   */
  public TargetWriter(String name, TargetDevice device, boolean discard, boolean cutAtEnd) {
    this.name = name;
    this.device = device;
    this.discard = discard;
    this.cutAtEnd = cutAtEnd;
    this.io =
        Executors.newFixedThreadPool(
            WRITES_IN_FLIGHT, CreatePipeline.daemon("imprint-write-" + name));
  }

  public String name() {
    return name;
  }

  public TargetDevice device() {
    return device;
  }

  /** Data bytes written so far. */
  public long written() {
    return written.get();
  }

  public IOException failure() {
    return failure;
  }

  public boolean failed() {
    return failure != null;
  }

  public void fail(IOException e) {
    if (failure == null) {
      failure = e;
    }
  }

  /**
   * Erases what made the old contents recognisable before anything else is written: a file is
   * emptied and set to the image size (sparse); a device has its first and last MiB zeroed.
   */
  public void erase(long imageSize) throws IOException {
    if (device.isBlockDevice()) {
      // Old filesystems inside old partitions would still be found by probing at their offsets
      // (blkid -O, a partition scan of a stray table): wipe where each began and ended too.
      for (Extent x : oldPartitions()) {
        wipeEnds(x.offset(), x.length());
      }
      wipeEnds(0, device.size());
      device.flush();
    } else {
      device.setLength(0);
      device.setLength(imageSize);
      fresh = true;
    }
  }

  /** Zeroes the first and last MiB of {@code [offset, offset + length)}, clipped to the disk. */
  private void wipeEnds(long offset, long length) throws IOException {
    long size = device.size();
    long end = Math.min(offset + length, size);
    if (offset >= end) {
      return;
    }
    device.zero(offset, Math.min(WIPE, end - offset));
    if (end - offset > WIPE) {
      long tail = Math.max(offset + WIPE, end - WIPE);
      device.zero(tail, end - tail);
    }
  }

  /** The partitions of the table this device holds now, before it is erased. */
  private List<Extent> oldPartitions() {
    List<Extent> out = new ArrayList<>();
    try {
      PartitionTable t = PartitionTables.read(asDisk());
      for (PartitionEntry e : t.entries()) {
        if (!e.isContainer()) {
          out.add(new Extent(e.offset(), e.length()));
        }
      }
    } catch (IOException | RuntimeException e) {
      // Unreadable as a table: the disk-wide wipe is all there is to do.
    }
    return out;
  }

  /** This target read as a disk (512-byte sectors, all data), for the partition-table reader. */
  private RandomAccessDisk asDisk() throws IOException {
    long size = device.size();
    return new RandomAccessDisk() {
      @Override
      public long size() {
        return size;
      }

      @Override
      public boolean isBlockDevice() {
        return true;
      }

      @Override
      public int read(ByteBuffer dst, long position) throws IOException {
        return device.read(dst, position);
      }

      @Override
      public String description() {
        return name;
      }

      @Override
      public void close() {}
    };
  }

  /**
   * A target that failed after its tables were written (its verify failed, or it was cancelled
   * while verifying) must not look valid either: its first and last MiB are wiped again.
   */
  public void invalidate() throws IOException {
    if (tablesWritten) {
      wipeEnds(0, device.size());
      device.flush();
    }
  }

  /** Whether the held chunks (partition tables, superblocks) are on the target. */
  public boolean tablesWritten() {
    return tablesWritten;
  }

  private volatile VerifyBehind behind;

  /**
   * Reads data chunks back while later ones are written ({@link VerifyBehind}); set before the
   * stream starts, for a verified restore.
   */
  public void verifyBehind(VerifyBehind b) {
    behind = b;
  }

  /** The read-back that ran while writing, stopped; null when there was none. */
  public VerifyBehind behind() {
    return behind;
  }

  private void stopBehind(boolean cancel) {
    VerifyBehind b = behind;
    if (b != null) {
      b.stop(cancel);
    }
  }

  /** Writes one chunk on this target's threads; completes normally even when it fails. */
  public CompletionStage<Void> write(Chunk c) {
    if (failure != null) {
      c.release();
      return CompletableFuture.completedFuture(null);
    }
    try {
      return CompletableFuture.runAsync(
          () -> {
            try {
              if (failure == null) {
                writeNow(c, true);
              }
            } catch (IOException e) {
              fail(e);
            } catch (RuntimeException e) {
              fail(new IOException(name + ": " + e, e));
            } finally {
              c.release();
            }
          },
          io);
    } catch (RejectedExecutionException e) {
      // Closed under a running stream (its session stopped): this target takes no more.
      fail(new IOException(name + ": closed while writing"));
      c.release();
      return CompletableFuture.completedFuture(null);
    }
  }

  /** {@code streamed}: a chunk of the stream, not one held for the end (read back early). */
  private void writeNow(Chunk c, boolean streamed) throws IOException {
    if (c.kind() == RangeKind.DATA) {
      long len = device.isBlockDevice() && cutAtEnd ? clip(c) : c.length();
      if (len < c.length()) {
        // A smaller disk: past its end lies only the image's backup GPT (checked beforehand),
        // which the table fix rewrites at the disk's own end.
        ByteBuffer part = c.writableView().limit((int) len);
        if (len > 0) {
          device.write(part.duplicate(), c.offset());
        }
        synchronized (clipped) {
          clipped.put(
              c.offset(), new Chunk.Range(c.offset(), len, RangeKind.DATA, Xxh64.of(part), null));
        }
        written.addAndGet(len);
        return;
      }
      device.write(c.writableView(), c.offset());
      written.addAndGet(c.length());
      VerifyBehind b = behind;
      if (streamed && b != null) {
        b.written(new Chunk.Range(c.offset(), c.length(), RangeKind.DATA, c.xxh64(), null));
      }
    } else if (c.kind() == RangeKind.ZERO) {
      long len = clip(c);
      if (!fresh && len > 0) {
        device.zero(c.offset(), len);
      }
    } else if (discard && device.isBlockDevice()) {
      long len = clip(c);
      if (len > 0) {
        device.discard(c.offset(), len);
      }
    }
  }

  /**
   * A smaller disk than the image is allowed when nothing but zero or unallocated space lies beyond
   * its end: those ranges are cut at the end.
   */
  private long clip(Chunk c) throws IOException {
    return Math.max(0, Math.min(c.end(), device.size()) - c.offset());
  }

  /**
   * A file target erased for a stream of unknown size starts empty, and zero ranges at the disk's
   * end write nothing: once the stream has ended, the file is given the disk's full length.
   */
  public void settleLength(long logicalSize) throws IOException {
    if (failure == null && fresh && !device.isBlockDevice() && device.size() < logicalSize) {
      device.setLength(logicalSize);
    }
  }

  /**
   * After every other chunk is written: flush, write the held chunks (partition tables and
   * superblocks), apply the table fix for this target's size, flush again.
   */
  public void finish(List<Chunk> held, byte[] head, TableFix fix, long imageSize)
      throws IOException {
    // The read-back of the stream's chunks ends before the tables are written.
    stopBehind(failure != null);
    if (failure != null) {
      return;
    }
    try {
      device.flush();
      List<GptRelocation.Write> writes =
          fix != null && device.isBlockDevice() && imageSize > 0
              ? fix.writes(head, device.size())
              : List.of();
      for (Chunk c : held) {
        writeNow(c, false);
      }
      for (GptRelocation.Write w : writes) {
        device.write(ByteBuffer.wrap(w.bytes()), w.offset());
      }
      device.flush();
      tablesWritten = true;
      rehash(held, writes);
    } catch (IOException e) {
      fail(e);
    }
  }

  /**
   * Table writes change bytes the image's hashes describe: held chunks they touch get the hash of
   * what is now there, and anything else they touch is no longer the image's to check.
   */
  private void rehash(List<Chunk> held, List<GptRelocation.Write> writes) {
    changed.clear();
    skipped.clear();
    for (GptRelocation.Write w : writes) {
      boolean inHeld = false;
      for (Chunk c : held) {
        if (w.offset() >= c.offset() && w.offset() + w.bytes().length <= c.end()) {
          inHeld = true;
        }
      }
      if (!inHeld) {
        skipped.add(new Extent(w.offset(), w.bytes().length));
      }
    }
    for (Chunk c : held) {
      if (c.length() > Integer.MAX_VALUE || c.kind() == RangeKind.UNALLOCATED) {
        continue;
      }
      byte[] now = null;
      for (GptRelocation.Write w : writes) {
        long from = Math.max(w.offset(), c.offset());
        long to = Math.min(w.offset() + w.bytes().length, c.end());
        if (from >= to) {
          continue;
        }
        if (now == null) {
          now = new byte[(int) c.length()];
          if (c.kind() == RangeKind.DATA) {
            c.view().get(now);
          }
        }
        System.arraycopy(
            w.bytes(),
            (int) (from - w.offset()),
            now,
            (int) (from - c.offset()),
            (int) (to - from));
      }
      if (now != null) {
        changed.put(c.offset(), Xxh64.of(ByteBuffer.wrap(now)));
      }
    }
  }

  /**
   * The ranges to verify on this target: the image's, as changed by this target's table fix. A view
   * (no copy per target); a range with nothing left to compare reads as unallocated.
   */
  public List<Chunk.Range> verifyRanges(List<Chunk.Range> ranges) throws IOException {
    long size = device.size();
    return new AbstractList<>() {
      @Override
      public Chunk.Range get(int i) {
        return forVerify(ranges.get(i), size);
      }

      @Override
      public int size() {
        return ranges.size();
      }
    };
  }

  private Chunk.Range forVerify(Chunk.Range r, long size) {
    Chunk.Range none = new Chunk.Range(r.offset(), r.length(), RangeKind.UNALLOCATED, 0, null);
    Chunk.Range cut;
    synchronized (clipped) {
      cut = clipped.get(r.offset());
    }
    if (cut != null) {
      // Cut at a smaller disk's end; if the table fix also wrote into it, nothing to compare.
      return cut.length() > 0 && !changed.containsKey(r.offset()) ? cut : none;
    }
    if (r.kind() != RangeKind.DATA && r.end() > size) {
      // Zero space cut at the end of a smaller disk.
      if (r.offset() >= size) {
        return none;
      }
      r = new Chunk.Range(r.offset(), size - r.offset(), r.kind(), r.xxh64(), r.sha256());
    }
    Long h = changed.get(r.offset());
    if (h != null) {
      return new Chunk.Range(r.offset(), r.length(), RangeKind.DATA, h, null);
    }
    boolean touched = false;
    for (Extent x : skipped) {
      touched |= x.offset() < r.end() && r.offset() < x.end();
    }
    return touched ? none : r;
  }

  /** Releases the target: no more writes are taken, the device (and its O_EXCL hold) is closed. */
  @Override
  public void close() throws IOException {
    fail(new IOException(name + ": closed"));
    stopBehind(true);
    io.shutdown();
    device.close();
  }
}
