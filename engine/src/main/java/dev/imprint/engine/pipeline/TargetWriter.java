package dev.imprint.engine.pipeline;

import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes chunks to one target on its own threads. A failure marks this target failed and from then
 * on it only releases chunks, so one dead disk never holds up the others.
 */
public final class TargetWriter implements AutoCloseable {
  /** Old signatures at the start and end of a disk are wiped over this length. */
  static final long WIPE = 1 << 20;

  private final String name;
  private final TargetDevice device;
  private final boolean discard;
  private final ExecutorService io;
  private final AtomicLong written = new AtomicLong();
  private volatile IOException failure;
  private boolean fresh;

  public TargetWriter(String name, TargetDevice device, boolean discard) {
    this.name = name;
    this.device = device;
    this.discard = discard;
    this.io = Executors.newFixedThreadPool(2, CreatePipeline.daemon("imprint-write-" + name));
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
      long size = device.size();
      device.zero(0, Math.min(WIPE, size));
      if (size > WIPE) {
        device.zero(size - WIPE, WIPE);
      }
      device.flush();
    } else {
      device.setLength(0);
      device.setLength(imageSize);
      fresh = true;
    }
  }

  /** Writes one chunk on this target's threads; completes normally even when it fails. */
  public CompletionStage<Void> write(Chunk c) {
    if (failure != null) {
      c.release();
      return CompletableFuture.completedFuture(null);
    }
    return CompletableFuture.runAsync(
        () -> {
          try {
            if (failure == null) {
              writeNow(c);
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
  }

  private void writeNow(Chunk c) throws IOException {
    if (c.kind() == RangeKind.DATA) {
      device.write(c.writableView(), c.offset());
      written.addAndGet(c.length());
    } else if (c.kind() == RangeKind.ZERO) {
      if (!fresh) {
        device.zero(c.offset(), c.length());
      }
    } else if (discard && device.isBlockDevice()) {
      device.discard(c.offset(), c.length());
    }
  }

  /**
   * After every other chunk is written: flush, write the held chunks (partition tables and
   * superblocks), flush again.
   */
  public void finish(List<Chunk> held) throws IOException {
    if (failure != null) {
      return;
    }
    try {
      device.flush();
      for (Chunk c : held) {
        writeNow(c);
      }
      device.flush();
    } catch (IOException e) {
      fail(e);
    }
  }

  /** Reads back what a range holds, for verification. */
  public int read(ByteBuffer dst, long position) throws IOException {
    return device.read(dst, position);
  }

  public boolean sparseZeros() {
    return fresh;
  }

  @Override
  public void close() throws IOException {
    io.shutdown();
    device.close();
  }
}
