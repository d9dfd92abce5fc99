package dev.imprint.engine.pipeline;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.SequentialDisk;
import dev.imprint.engine.source.SourceException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Chunks of a raw disk: a raw or compressed raw image, or a block device cloned directly. All-zero
 * chunks and holes become zero ranges, so they cost the target almost nothing.
 */
public final class DiskChunks implements ChunkSupply {
  private final DiskSource disk;
  private final BufferPool pool;
  private final ByteBuffer zeros;
  private final boolean ordered;
  private final List<Extent> used;
  private ChunkCheck check;

  /** create's chunks that are mappings of a file, by offset, until {@link #release} unmaps them. */
  private final Map<Long, MappedByteBuffer> mapped = new ConcurrentHashMap<>();

  /** Chunks in whatever order reads finish, with the xxHash64 a restore verifies against. */
  public DiskChunks(DiskSource disk, int chunkSize) {
    this(disk, chunkSize, false, null);
  }

  /**
   * A direct disk-to-disk clone that copies only {@code used} (sorted, disjoint byte ranges, or
   * null for everything); the rest is unallocated.
   */
  public DiskChunks(DiskSource disk, int chunkSize, List<Extent> used) {
    this(disk, chunkSize, false, used);
  }

  /**
   * Chunks in disk order, as an image writer needs them; no xxHash64, since {@code create} hashes
   * each chunk with SHA-256 itself. Give each chunk back with {@link #release}: chunks of a file
   * source may be mappings of it rather than copies.
   */
  public static DiskChunks forCreate(DiskSource disk, int chunkSize, List<Extent> used) {
    return new DiskChunks(disk, chunkSize, true, used);
  }

  private DiskChunks(DiskSource disk, int chunkSize, boolean ordered, List<Extent> used) {
    this.used = used;
    this.disk = disk;
    this.pool = new BufferPool(chunkSize);
    this.zeros = ByteBuffer.allocateDirect(chunkSize);
    this.ordered = ordered;
  }

  /**
   * Runs {@code check} on every chunk in disk order before it leaves this supply (reads stay
   * parallel; chunks leave in order). Set before {@link #chunks}.
   */
  public DiskChunks checking(ChunkCheck check) {
    this.check = check;
    return this;
  }

  /** The check set with {@link #checking}, or null. */
  public ChunkCheck check() {
    return check;
  }

  /** The disk read (a raw file, a decoder over a compressed one, a zip entry…). */
  public DiskSource disk() {
    return disk;
  }

  @Override
  public String description() {
    return disk.description();
  }

  @Override
  public long logicalSize() {
    if (disk instanceof RandomAccessDisk r) {
      return r.size();
    }
    return ((SequentialDisk) disk).size().orElse(-1);
  }

  @Override
  public int chunkSize() {
    return pool.bufferSize();
  }

  @Override
  public long dataBytes() {
    return -1;
  }

  @Override
  public void limitBuffers(int buffers) {
    pool.limit(buffers);
  }

  @Override
  public Source<Chunk, NotUsed> chunks(int parallelism, Executor cpu) {
    if (disk instanceof RandomAccessDisk r) {
      List<Extent> extents;
      try {
        extents = r.dataExtents();
      } catch (IOException e) {
        return Source.failed(e);
      }
      long size = r.size();
      int cs = pool.bufferSize();
      long n = (size + cs - 1) / cs;
      Iterator<Piece> pieces =
          new Iterator<>() {
            long i;
            int e;
            int u;

            @Override
            public boolean hasNext() {
              return i < n;
            }

            @Override
            public Piece next() {
              if (i >= n) {
                throw new NoSuchElementException();
              }
              long off = i++ * cs;
              int len = (int) Math.min(cs, size - off);
              long end = off + len;
              List<Extent> unused = List.of();
              if (used != null) {
                while (u < used.size() && used.get(u).end() <= off) {
                  u++;
                }
                // The used extents overlapping this chunk; the gaps between them are unused.
                List<Extent> gaps = new ArrayList<>();
                long at = off;
                for (int k = u; k < used.size() && used.get(k).offset() < end; k++) {
                  Extent x = used.get(k);
                  if (x.offset() > at) {
                    gaps.add(new Extent(at - off, x.offset() - at));
                  }
                  at = Math.max(at, Math.min(end, x.end()));
                }
                if (at == off) {
                  return new Piece(off, len, RangeKind.UNALLOCATED, List.of());
                }
                if (at < end) {
                  gaps.add(new Extent(at - off, end - at));
                }
                unused = gaps;
              }
              while (e < extents.size() && extents.get(e).end() <= off) {
                e++;
              }
              boolean data = e < extents.size() && extents.get(e).offset() < end;
              return new Piece(off, len, data ? RangeKind.DATA : RangeKind.ZERO, unused);
            }
          };
      Source<Piece, NotUsed> planned = Source.fromIterator(() -> pieces);
      return pool.closingAfter(
          ordered || check != null
              ? planned
                  .mapAsync(
                      parallelism, p -> CompletableFuture.supplyAsync(() -> readAt(r, p), cpu))
                  .map(this::checked)
              : planned.mapAsyncUnordered(
                  parallelism, p -> CompletableFuture.supplyAsync(() -> readAt(r, p), cpu)));
    }
    SequentialDisk s = (SequentialDisk) disk;
    Iterator<Chunk> seq =
        new Iterator<>() {
          long off;
          long tableEnd;
          Chunk next;
          boolean eof;

          @Override
          public boolean hasNext() {
            if (next == null && !eof) {
              ByteBuffer b = pool.acquire();
              try {
                int got = s.readFully(b);
                if (got <= 0) {
                  pool.release(b);
                  eof = true;
                } else {
                  b.flip();
                  if (off == 0) {
                    tableEnd = TableEnd.of(b);
                  }
                  next = classify(off, b);
                  off += got;
                  eof = got < pool.bufferSize();
                }
              } catch (IOException e) {
                pool.release(b);
                throw new UncheckedIOException(e);
              }
              if (eof) {
                try {
                  // Fails the source before the chunks that make a disk look valid are written.
                  checkWhole(s, off, tableEnd);
                  if (check != null) {
                    check.end(off);
                  }
                } catch (IOException e) {
                  if (next != null) {
                    next.release();
                    next = null;
                  }
                  throw new UncheckedIOException(e);
                }
              }
            }
            return next != null;
          }

          @Override
          public Chunk next() {
            if (!hasNext()) {
              throw new NoSuchElementException();
            }
            Chunk c = next;
            next = null;
            return c;
          }
        };
    return pool.closingAfter(
        Source.fromIterator(() -> seq)
            .map(this::checked)
            .withAttributes(
                ActorAttributes.dispatcher("pekko.actor.default-blocking-io-dispatcher")));
  }

  /**
   * A stream that ended with nothing, or before the end its partition table gives (a truncated
   * download or copy), is no disk to restore.
   */
  private static void checkWhole(SequentialDisk s, long read, long tableEnd) throws IOException {
    if (read == 0) {
      throw new SourceException(
          "source "
              + s.description()
              + " is empty: there is no disk in it (give an image or a disk)");
    }
    if (read < tableEnd) {
      // Damage as every command counts it (exit 4): the disk it carries is cut short.
      throw new ImageDamagedException(
          "source "
              + s.description()
              + " ends after "
              + read
              + " bytes, but its partition table says the disk is "
              + tableEnd
              + " bytes: it is truncated (download or copy it again)");
    }
  }

  private Chunk checked(Chunk c) {
    if (check != null) {
      try {
        check.check(c);
      } catch (IOException e) {
        c.release();
        throw new UncheckedIOException(e);
      }
    }
    return c;
  }

  /** A chunk to read: DATA may hold data, ZERO is a hole, UNALLOCATED is skipped. */
  private record Piece(long offset, int length, RangeKind kind, List<Extent> unused) {}

  private Chunk readAt(RandomAccessDisk r, Piece p) {
    if (p.kind() != RangeKind.DATA) {
      return Chunk.empty(p.offset(), p.length(), p.kind());
    }
    if (ordered && p.unused().isEmpty() && r instanceof FileDisk f) {
      MappedByteBuffer m = f.map(p.offset(), p.length());
      if (m != null) {
        if (m.mismatch(zeros.duplicate().limit(p.length())) < 0) {
          FileDisk.unmap(m);
          return Chunk.empty(p.offset(), p.length(), RangeKind.ZERO);
        }
        mapped.put(p.offset(), m);
        return Chunk.data(p.offset(), m, 0, null);
      }
    }
    ByteBuffer b = pool.acquire();
    b.limit(p.length());
    try {
      if (r instanceof ContainerDisk && !p.unused().isEmpty()) {
        readUsed(r, b, p);
      } else {
        int got = r.read(b, p.offset());
        if (got < p.length()) {
          throw new IOException(
              r.description() + " ended at byte " + (p.offset() + got) + " while read");
        }
      }
    } catch (IOException e) {
      pool.release(b);
      throw new UncheckedIOException(e);
    }
    // Blocks the filesystem doesn't use may hold deleted data: zeros compress to nothing.
    for (Extent gap : p.unused()) {
      b.put((int) gap.offset(), zeros, 0, (int) gap.length());
    }
    b.flip();
    return classify(p.offset(), b);
  }

  /**
   * Reads only the parts of the piece the filesystems use: a container decodes what it reads
   * (clusters inflated, blocks fetched over http), so the gaps are not worth their cost. The gaps
   * are zeroed by the caller; the buffer ends positioned at the piece's end, as after one read.
   */
  /** Gaps a container read skips; shorter ones are read (and zeroed) with their neighbours. */
  private static final int MIN_SKIP = 256 << 10;

  private static void readUsed(RandomAccessDisk r, ByteBuffer b, Piece p) throws IOException {
    int at = 0;
    List<Extent> gaps = new ArrayList<>();
    for (Extent gap : p.unused()) {
      if (gap.length() >= MIN_SKIP) {
        gaps.add(gap); // a short gap costs less to read through than a read of its own
      }
    }
    gaps.add(new Extent(p.length(), 0));
    for (Extent gap : gaps) {
      if (gap.offset() > at) {
        b.limit((int) gap.offset()).position(at);
        int want = b.remaining();
        int got = r.read(b, p.offset() + at);
        if (got < want) {
          throw new IOException(
              r.description() + " ended at byte " + (p.offset() + at + got) + " while read");
        }
      }
      at = (int) Math.max(at, gap.end());
    }
    b.limit(p.length()).position(p.length());
  }

  private Chunk classify(long offset, ByteBuffer b) {
    int len = b.remaining();
    if (b.mismatch(zeros.duplicate().limit(len)) < 0) {
      pool.release(b);
      return Chunk.empty(offset, len, RangeKind.ZERO);
    }
    return Chunk.data(offset, b, ordered ? 0 : Xxh64.of(b), pool);
  }

  /** Drops create's hold on a chunk from {@link #forCreate}: back to the pool, or unmapped. */
  public void release(Chunk c) {
    c.release();
    MappedByteBuffer m = c.kind() == RangeKind.DATA ? mapped.remove(c.offset()) : null;
    if (m != null) {
      FileDisk.unmap(m);
    }
  }

  @Override
  public void close() throws IOException {
    disk.close();
  }
}
