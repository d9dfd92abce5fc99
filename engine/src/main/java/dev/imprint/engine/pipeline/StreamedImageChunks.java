package dev.imprint.engine.pipeline;

import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageStream;
import dev.imprint.engine.image.MetadataCheck;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.source.SourceException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Chunks of an Imprint image arriving through a pipe, in one pass. The image's index and signature
 * come last, so the source fails at its very end if they don't hold; the restore keeps the chunks
 * that make a disk look valid until then.
 */
public final class StreamedImageChunks implements ChunkSupply {
  private final ImageStream stream;
  private final String where;
  private final InputStream in;
  private final MetadataCheck check;
  private final BufferPool pool;
  private final BufferPool storedPool;

  /**
   * @param check run on the metadata at the stream's end; a check that {@link
   *     MetadataCheck#establishesTrust establishes trust} is refused here, before anything is read:
   *     a pipe's signature comes after its body, and nothing untrusted may be written
   * @throws SourceException the check must establish trust (--trust with a sequential source)
   */
  public StreamedImageChunks(InputStream in, String where, MetadataCheck check) throws IOException {
    if (check.establishesTrust()) {
      throw new SourceException(
          "--trust needs the image's signature checked before anything is written, but "
              + where
              + " is read front to back and its signature comes at its end: give the image as a"
              + " file, or at an http(s) URL whose server supports range requests");
    }
    this.in = in;
    this.stream = new ImageStream(in, where);
    this.where = where;
    this.check = check;
    int cs = stream.header().chunkSize();
    this.pool = new BufferPool(cs);
    this.storedPool = new BufferPool(stream.header().codec().maxCompressedLength(cs) + 64);
  }

  public ImageHeader header() {
    return stream.header();
  }

  @Override
  public String description() {
    return where;
  }

  @Override
  public long logicalSize() {
    return stream.header().logicalSize();
  }

  @Override
  public int chunkSize() {
    return stream.header().chunkSize();
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
    Iterator<ImageStream.StoredRecord> records =
        new Iterator<>() {
          ImageStream.StoredRecord next;
          boolean done;

          @Override
          public boolean hasNext() {
            if (next == null && !done) {
              try {
                next =
                    stream.next(
                        n -> n <= storedPool.bufferSize() ? storedPool.acquire() : alloc(n));
                if (next == null) {
                  done = true;
                  check.check(stream.metadata());
                }
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            }
            return next != null;
          }

          @Override
          public ImageStream.StoredRecord next() {
            if (!hasNext()) {
              throw new NoSuchElementException();
            }
            ImageStream.StoredRecord r = next;
            next = null;
            return r;
          }
        };
    return pool.closingAfter(
        Source.fromIterator(() -> records)
            .withAttributes(
                ActorAttributes.dispatcher("pekko.actor.default-blocking-io-dispatcher"))
            .mapAsyncUnordered(
                parallelism, r -> CompletableFuture.supplyAsync(() -> decode(r), cpu)));
  }

  private static ByteBuffer alloc(int n) {
    return ByteBuffer.allocateDirect(n);
  }

  private Chunk decode(ImageStream.StoredRecord r) {
    var e = r.entry();
    if (e.kind() != RangeKind.DATA) {
      return Chunk.empty(e.logicalOffset(), e.logicalLength(), e.kind());
    }
    ByteBuffer out = pool.acquire();
    try {
      out.limit((int) e.logicalLength());
      Image.decode(e, r.chunkNumber(), r.payload(), out, where);
      out.flip();
      return Chunk.data(e.logicalOffset(), out, Xxh64.of(out), pool);
    } catch (ImageFormatException ex) {
      pool.release(out);
      throw new UncheckedIOException(ex);
    } finally {
      storedPool.release(r.payload());
    }
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
