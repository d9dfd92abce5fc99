package dev.imprint.engine.pipeline;

import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.SequentialDisk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
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

  /** Chunks in whatever order reads finish, with the xxHash64 a restore verifies against. */
  public DiskChunks(DiskSource disk, int chunkSize) {
    this(disk, chunkSize, false);
  }

  /**
   * Chunks in disk order, as an image writer needs them; no xxHash64, since {@code create} hashes
   * each chunk with SHA-256 itself.
   */
  public static DiskChunks forCreate(DiskSource disk, int chunkSize) {
    return new DiskChunks(disk, chunkSize, true);
  }

  private DiskChunks(DiskSource disk, int chunkSize, boolean ordered) {
    this.disk = disk;
    this.pool = new BufferPool(chunkSize);
    this.zeros = ByteBuffer.allocateDirect(chunkSize);
    this.ordered = ordered;
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
      Iterator<long[]> pieces =
          new Iterator<>() {
            long i;
            int e;

            @Override
            public boolean hasNext() {
              return i < n;
            }

            @Override
            public long[] next() {
              if (i >= n) {
                throw new NoSuchElementException();
              }
              long off = i++ * cs;
              long len = Math.min(cs, size - off);
              while (e < extents.size() && extents.get(e).end() <= off) {
                e++;
              }
              boolean data = e < extents.size() && extents.get(e).offset() < off + len;
              return new long[] {off, len, data ? 1 : 0};
            }
          };
      Source<long[], NotUsed> planned = Source.fromIterator(() -> pieces);
      return ordered
          ? planned.mapAsync(
              parallelism, p -> CompletableFuture.supplyAsync(() -> readAt(r, p), cpu))
          : planned.mapAsyncUnordered(
              parallelism, p -> CompletableFuture.supplyAsync(() -> readAt(r, p), cpu));
    }
    SequentialDisk s = (SequentialDisk) disk;
    Iterator<Chunk> seq =
        new Iterator<>() {
          long off;
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
                  next = classify(off, b);
                  off += got;
                  eof = got < pool.bufferSize();
                }
              } catch (IOException e) {
                pool.release(b);
                throw new UncheckedIOException(e);
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
    return Source.fromIterator(() -> seq)
        .withAttributes(ActorAttributes.dispatcher("pekko.actor.default-blocking-io-dispatcher"));
  }

  private Chunk readAt(RandomAccessDisk r, long[] p) {
    if (p[2] == 0) {
      return Chunk.empty(p[0], p[1], RangeKind.ZERO);
    }
    ByteBuffer b = pool.acquire();
    b.limit((int) p[1]);
    try {
      int got = r.read(b, p[0]);
      if (got < p[1]) {
        throw new IOException(r.description() + " ended at byte " + (p[0] + got) + " while read");
      }
    } catch (IOException e) {
      pool.release(b);
      throw new UncheckedIOException(e);
    }
    b.flip();
    return classify(p[0], b);
  }

  private Chunk classify(long offset, ByteBuffer b) {
    int len = b.remaining();
    if (b.mismatch(zeros.duplicate().limit(len)) < 0) {
      pool.release(b);
      return Chunk.empty(offset, len, RangeKind.ZERO);
    }
    return Chunk.data(offset, b, ordered ? 0 : Hashes.xxh64(b), pool);
  }

  @Override
  public void close() throws IOException {
    disk.close();
  }
}
