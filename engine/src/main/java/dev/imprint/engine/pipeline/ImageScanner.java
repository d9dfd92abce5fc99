package dev.imprint.engine.pipeline;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.image.ChunkDamagedException;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.image.ImageMetadata;
import dev.imprint.engine.image.ImageStream;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.Signature;
import dev.imprint.engine.signing.Keys;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The {@code imagescan} check: everything either kind of restore relies on. The image is read front
 * to back as a pipe restore reads it (the header at 0, every record header, the END record, the
 * header copy, the index, each signature block and trailer, the records against the index), every
 * stored chunk is decoded and its SHA-256 checked side by side, and every signature must verify.
 * The damage reported is the first found in disk order.
 */
public final class ImageScanner {
  /** Bytes per sequential read: few requests for an image over HTTP. */
  static final int READ_LENGTH = 4 << 20;

  private ImageScanner() {}

  public static Optional<ImageFormatException> scan(
      Image image, int parallelism, ProgressListener progress) throws IOException {
    ImageMetadata md = image.metadata();
    String where = image.description();
    long total = image.fileSize();
    AtomicReference<ImageFormatException> first = new AtomicReference<>();
    int threads = Math.max(1, parallelism);
    int cs = image.header().chunkSize();
    int storedMax = 0;
    for (Codec c : Codec.values()) {
      storedMax = Math.max(storedMax, c.maxCompressedLength(cs));
    }
    BlockingQueue<ByteBuffer> payloads = new ArrayBlockingQueue<>(threads * 2);
    for (int i = 0; i < threads * 2; i++) {
      payloads.add(ByteBuffer.allocateDirect(storedMax));
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    Semaphore inFlight = new Semaphore(threads * 2);
    ThreadLocal<ByteBuffer> decoded = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(cs));
    AtomicLong position = new AtomicLong();
    boolean drained = false;
    try (InputStream in = new RangeInputStream(image, position)) {
      ImageStream stream = new ImageStream(in, where);
      if (!MessageDigest.isEqual(stream.headerBytes(), md.headerBytes())) {
        throw new ImageDamagedException(
            where
                + ": the header at byte 0 differs from its copy in the metadata: the image is"
                + " damaged (copy it again)");
      }
      while (first.get() == null) {
        ImageStream.StoredRecord r = stream.next(n -> take(payloads));
        if (r == null) {
          break;
        }
        progress.progress(position.get(), total);
        if (r.payload() == null) {
          continue;
        }
        inFlight.acquireUninterruptibly();
        pool.submit(
            () -> {
              IndexEntry e = r.entry();
              try {
                ByteBuffer out = decoded.get();
                out.clear().limit((int) e.logicalLength());
                Image.decode(e, r.chunkNumber(), r.payload(), out, where);
              } catch (ImageFormatException ex) {
                first.accumulateAndGet(ex, ImageScanner::earlier);
              } finally {
                payloads.add(r.payload());
                inFlight.release();
              }
            });
      }
      // Every permit back means every check has finished.
      inFlight.acquireUninterruptibly(threads * 2);
      drained = true;
      if (first.get() == null && !MessageDigest.isEqual(stream.metadata().digest(), md.digest())) {
        throw new ImageDamagedException(
            where
                + ": the metadata read front to back differs from the metadata at the end: the"
                + " image is damaged (copy it again)");
      }
      progress.progress(total, total);
    } catch (ImageFormatException e) {
      if (!drained) {
        inFlight.acquireUninterruptibly(threads * 2);
      }
      first.accumulateAndGet(e, ImageScanner::earlier);
    } finally {
      pool.shutdownNow();
    }
    if (first.get() == null) {
      List<Signature> bad = Signature.failing(md);
      if (!bad.isEmpty()) {
        return Optional.of(
            new ImageDamagedException(
                where
                    + ": the signature by "
                    + Keys.fingerprint(bad.get(0).publicKey())
                    + " does not verify: the image or its signature is damaged (copy it again,"
                    + " or have it signed again)"));
      }
    }
    return Optional.ofNullable(first.get());
  }

  private static ByteBuffer take(BlockingQueue<ByteBuffer> payloads) {
    try {
      return payloads.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** A chunk's damage is ordered by its disk offset; damage to the structure comes first. */
  private static ImageFormatException earlier(ImageFormatException a, ImageFormatException b) {
    if (a == null) {
      return b;
    }
    long oa = a instanceof ChunkDamagedException c ? c.logicalOffset() : -1;
    long ob = b instanceof ChunkDamagedException c ? c.logicalOffset() : -1;
    return ob < oa ? b : a;
  }

  /** An image file read front to back in large pieces, counting the bytes read. */
  private static final class RangeInputStream extends InputStream {
    private final Image reader;
    private final AtomicLong position;
    private final ByteBuffer buffer = ByteBuffer.allocate(READ_LENGTH).limit(0);

    RangeInputStream(Image reader, AtomicLong position) {
      this.reader = reader;
      this.position = position;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!buffer.hasRemaining()) {
        long left = reader.fileSize() - position.get();
        if (left <= 0) {
          return -1;
        }
        buffer.clear().limit((int) Math.min(READ_LENGTH, left));
        reader.readFully(buffer, position.get());
        buffer.flip();
        position.addAndGet(buffer.remaining());
      }
      int n = Math.min(len, buffer.remaining());
      buffer.get(b, off, n);
      return n;
    }
  }
}
