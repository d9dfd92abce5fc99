package dev.imprint.engine.image;

import dev.imprint.engine.pipeline.ProgressListener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Reads every stored chunk of an image, decodes it and checks its SHA-256: the {@code imagescan}
 * check. Chunks are checked side by side; the damage reported is the first in disk order.
 */
public final class ImageScanner {
  private ImageScanner() {}

  public static Optional<ImageFormatException> scan(
      Image image, int parallelism, ProgressListener progress) throws IOException {
    List<IndexEntry> index = image.metadata().index();
    long total = image.metadata().storedBytes();
    AtomicLong done = new AtomicLong();
    AtomicReference<ImageFormatException> first = new AtomicReference<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, parallelism));
    Semaphore inFlight = new Semaphore(parallelism * 2);
    ThreadLocal<ByteBuffer[]> buffers = new ThreadLocal<>();
    int cs = image.header().chunkSize();
    try {
      for (int i = 0; i < index.size(); i++) {
        IndexEntry e = index.get(i);
        if (e.kind() != RangeKind.DATA) {
          continue;
        }
        inFlight.acquireUninterruptibly();
        int n = i;
        pool.submit(
            () -> {
              try {
                ByteBuffer[] b = buffers.get();
                if (b == null) {
                  b = new ByteBuffer[] {null, ByteBuffer.allocateDirect(cs)};
                  buffers.set(b);
                }
                ByteBuffer stored = image.readStored(n, b[0]);
                b[0] = stored;
                b[1].clear().limit((int) e.logicalLength());
                Image.decode(e, e.logicalOffset() / cs, stored, b[1], image.description());
              } catch (ImageFormatException ex) {
                first.accumulateAndGet(ex, ImageScanner::earlier);
              } catch (IOException ex) {
                first.accumulateAndGet(
                    new ChunkDamagedException(
                        image.description(),
                        e.logicalOffset() / cs,
                        e.logicalOffset(),
                        ex.getMessage()),
                    ImageScanner::earlier);
              } finally {
                progress.progress(done.addAndGet(e.storedLength()), total);
                inFlight.release();
              }
            });
      }
      // Every permit back means every check has finished.
      inFlight.acquireUninterruptibly(parallelism * 2);
    } finally {
      pool.shutdownNow();
    }
    return Optional.ofNullable(first.get());
  }

  private static ImageFormatException earlier(ImageFormatException a, ImageFormatException b) {
    if (a == null) {
      return b;
    }
    long oa = a instanceof ChunkDamagedException c ? c.logicalOffset() : -1;
    long ob = b instanceof ChunkDamagedException c ? c.logicalOffset() : -1;
    return ob < oa ? b : a;
  }
}
