package dev.imprint.engine.pipeline;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.codec.CodecException;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageWriter;
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
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Turns a disk into an image: read chunk -> detect zeros -> hash -> compress (all cores, order
 * kept) -> append to the image. Holes of a sparse source become zero ranges without being read.
 * Memory is bounded by the number of chunks in flight.
 */
public final class CreatePipeline {
  private static final String BLOCKING = "pekko.actor.default-blocking-io-dispatcher";

  private final Materializer mat;
  private final CreateOptions options;
  private final BufferPool raw;
  private final BufferPool stored;
  private final ByteBuffer zeros;

  public CreatePipeline(Materializer mat, CreateOptions options) {
    this.mat = mat;
    this.options = options;
    int cs = options.chunkSize();
    this.raw = new BufferPool(cs);
    this.stored = new BufferPool(options.compression().codec().maxCompressedLength(cs) + 64);
    this.zeros = ByteBuffer.allocateDirect(cs);
  }

  /** One chunk between stages: {@code data} null means the chunk reads as zeros. */
  private record Piece(long offset, int length, ByteBuffer data) {}

  /** One chunk ready to append. */
  private record Packed(
      long offset, int length, Codec codec, byte[] sha256, ByteBuffer payload, ByteBuffer rawBuf) {}

  /**
   * Runs the pipeline to completion into {@code writer} (not finished: the caller signs and
   * finishes). Fails with the first I/O error.
   */
  public CompletionStage<Long> run(
      DiskSource source, ImageWriter writer, ProgressListener progress) {
    int par = Math.max(1, options.parallelism());
    ExecutorService cpu = Executors.newFixedThreadPool(par, daemon("imprint-create"));
    AtomicLong done = new AtomicLong();
    long total;
    Source<Packed, ?> packed;
    try {
      if (source instanceof RandomAccessDisk r) {
        total = r.size();
        packed =
            randomPieces(r)
                .mapAsync(
                    par * 2, p -> CompletableFuture.supplyAsync(() -> readAndPack(r, p), cpu));
      } else {
        SequentialDisk s = (SequentialDisk) source;
        total = s.size().orElse(-1);
        packed =
            sequentialPieces(s)
                .mapAsync(par * 2, p -> CompletableFuture.supplyAsync(() -> pack(p), cpu));
      }
    } catch (IOException e) {
      cpu.shutdownNow();
      return CompletableFuture.failedFuture(e);
    }
    CompletionStage<Done> finished =
        packed
            .withAttributes(Attributes.inputBuffer(1, 2))
            .runWith(
                Sink.<Packed>foreach(
                        pk -> {
                          append(writer, pk);
                          progress.progress(done.addAndGet(pk.length()), total);
                        })
                    .withAttributes(ActorAttributes.dispatcher(BLOCKING)),
                mat);
    return finished.handle(
        (d, err) -> {
          cpu.shutdownNow();
          if (err != null) {
            throw unwrap(err);
          }
          return done.get();
        });
  }

  private static CompletionException unwrap(Throwable err) {
    Throwable t = err;
    while ((t instanceof CompletionException || t instanceof UncheckedIOException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return new CompletionException(t);
  }

  private void append(ImageWriter writer, Packed pk) throws IOException {
    try {
      if (pk.payload() == null) {
        writer.zero(pk.offset(), pk.length());
      } else {
        writer.data(pk.offset(), pk.length(), pk.codec(), pk.sha256(), pk.payload());
      }
    } finally {
      stored.release(pk.payload() == null ? null : pk.payload().clear());
      raw.release(pk.rawBuf());
    }
  }

  private Source<Piece, ?> randomPieces(RandomAccessDisk disk) throws IOException {
    List<Extent> extents = disk.dataExtents();
    long size = disk.size();
    int cs = options.chunkSize();
    long n = (size + cs - 1) / cs;
    return Source.fromIterator(
        () ->
            new Iterator<Piece>() {
              long i;
              int e;

              @Override
              public boolean hasNext() {
                return i < n;
              }

              @Override
              public Piece next() {
                if (i >= n) {
                  throw new NoSuchElementException();
                }
                long off = i * cs;
                int len = (int) Math.min(cs, size - off);
                i++;
                while (e < extents.size() && extents.get(e).end() <= off) {
                  e++;
                }
                boolean hasData = e < extents.size() && extents.get(e).offset() < off + len;
                // Marker buffer: a non-null zero-capacity buffer means "read me".
                return new Piece(off, len, hasData ? READ_ME : null);
              }
            });
  }

  private static final ByteBuffer READ_ME = ByteBuffer.allocate(0);

  private Source<Piece, ?> sequentialPieces(SequentialDisk disk) {
    int cs = options.chunkSize();
    return Source.fromIterator(
            () ->
                new Iterator<Piece>() {
                  long off;
                  Piece next;
                  boolean eof;

                  @Override
                  public boolean hasNext() {
                    if (next == null && !eof) {
                      ByteBuffer b = raw.acquire();
                      int n;
                      try {
                        n = disk.readFully(b);
                      } catch (IOException ex) {
                        raw.release(b);
                        throw new UncheckedIOException(ex);
                      }
                      if (n <= 0) {
                        raw.release(b);
                        eof = true;
                      } else {
                        b.flip();
                        next = new Piece(off, n, b);
                        off += n;
                        eof = n < cs;
                      }
                    }
                    return next != null;
                  }

                  @Override
                  public Piece next() {
                    if (!hasNext()) {
                      throw new NoSuchElementException();
                    }
                    Piece p = next;
                    next = null;
                    return p;
                  }
                })
        .withAttributes(ActorAttributes.dispatcher(BLOCKING));
  }

  private Packed readAndPack(RandomAccessDisk disk, Piece p) {
    if (p.data() == null) {
      return new Packed(p.offset(), p.length(), Codec.NONE, null, null, null);
    }
    ByteBuffer b = raw.acquire();
    b.limit(p.length());
    try {
      int n = disk.read(b, p.offset());
      if (n < p.length()) {
        throw new IOException(
            disk.description() + " ended at byte " + (p.offset() + n) + " while being read");
      }
    } catch (IOException ex) {
      raw.release(b);
      throw new UncheckedIOException(ex);
    }
    b.flip();
    return pack(new Piece(p.offset(), p.length(), b));
  }

  private Packed pack(Piece p) {
    ByteBuffer data = p.data();
    if (data == null) {
      return new Packed(p.offset(), p.length(), Codec.NONE, null, null, null);
    }
    if (isZero(data)) {
      raw.release(data);
      return new Packed(p.offset(), p.length(), Codec.NONE, null, null, null);
    }
    byte[] sha = Image.sha256(data);
    Codec codec = options.compression().codec();
    ByteBuffer out = stored.acquire();
    try {
      int n = codec.compress(data, out, options.compression().level());
      if (n >= p.length()) {
        // Incompressible: store it as is, which also makes it free to decode.
        out.clear();
        out.put(data.duplicate());
        codec = Codec.NONE;
      }
    } catch (CodecException ex) {
      stored.release(out);
      raw.release(data);
      throw new UncheckedIOException(ex);
    }
    out.flip();
    return new Packed(p.offset(), p.length(), codec, sha, out, data);
  }

  private boolean isZero(ByteBuffer data) {
    ByteBuffer z = zeros.duplicate().limit(data.remaining());
    return data.mismatch(z) < 0;
  }

  static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
