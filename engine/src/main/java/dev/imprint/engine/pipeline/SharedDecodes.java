package dev.imprint.engine.pipeline;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Decoded chunks shared between readers of the same image that run at the same time (a station's
 * slots): the first reader to want a chunk reads, checks and decodes it, and the others that want
 * it meanwhile or soon after copy the result instead of decoding it again. Only while two or more
 * readers of one image are open; a lone restore never pays for the copy. What is kept is bounded
 * (oldest first out); a reader that finds nothing decodes for itself, so a drive that arrives late
 * starts at once and never waits for the others.
 */
final class SharedDecodes {
  /** A decoded chunk's bytes and their xxHash64. */
  record Decoded(byte[] bytes, long xxh) {}

  private record Key(String image, int index) {}

  /**
   * A quarter of the heap, at most 256 MiB (192 MiB under the launcher's 768 MiB heap): drives
   * attached seconds apart still find what the first decoded.
   */
  static final SharedDecodes INSTANCE =
      new SharedDecodes(Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 4));

  private final long budget;
  private final Map<String, Integer> readers = new HashMap<>();
  private final LinkedHashMap<Key, CompletableFuture<Decoded>> kept = new LinkedHashMap<>();
  private long keptBytes;

  SharedDecodes(long budget) {
    this.budget = budget;
  }

  synchronized void open(String image) {
    readers.merge(image, 1, Integer::sum);
  }

  synchronized void close(String image) {
    if (readers.merge(image, -1, Integer::sum) <= 0) {
      readers.remove(image);
      Iterator<Map.Entry<Key, CompletableFuture<Decoded>>> it = kept.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<Key, CompletableFuture<Decoded>> e = it.next();
        if (e.getKey().image().equals(image)) {
          keptBytes -= size(e.getValue());
          it.remove();
        }
      }
    }
  }

  /**
   * What another reader decoded (or is decoding) of chunk {@code index}, or null when the caller
   * should decode it itself; then the caller must {@link #offer} or {@link #withdraw} it.
   */
  CompletableFuture<Decoded> claim(String image, int index) {
    synchronized (this) {
      if (readers.getOrDefault(image, 0) < 2) {
        return null;
      }
      Key k = new Key(image, index);
      CompletableFuture<Decoded> f = kept.get(k);
      if (f != null) {
        return f;
      }
      kept.put(k, new CompletableFuture<>());
      return null;
    }
  }

  /** The decoded chunk, for the readers waiting on it and those to come. */
  void offer(String image, int index, ByteBuffer decoded, long xxh) {
    byte[] copy = new byte[decoded.remaining()];
    decoded.duplicate().get(copy);
    CompletableFuture<Decoded> f;
    synchronized (this) {
      f = kept.get(new Key(image, index));
      if (f == null || f.isDone()) {
        return;
      }
      keptBytes += copy.length;
      evict();
    }
    f.complete(new Decoded(copy, xxh));
  }

  /** The decode failed: waiting readers decode for themselves. */
  void withdraw(String image, int index, Throwable why) {
    CompletableFuture<Decoded> f;
    synchronized (this) {
      f = kept.remove(new Key(image, index));
    }
    if (f != null) {
      f.completeExceptionally(why);
    }
  }

  /** Waits for another reader's decode; null if it failed or takes too long (decode yourself). */
  static Decoded await(CompletableFuture<Decoded> f) {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private void evict() {
    Iterator<Map.Entry<Key, CompletableFuture<Decoded>>> it = kept.entrySet().iterator();
    while (keptBytes > budget && it.hasNext()) {
      Map.Entry<Key, CompletableFuture<Decoded>> e = it.next();
      if (e.getValue().isDone()) {
        keptBytes -= size(e.getValue());
        it.remove();
      }
    }
  }

  private static long size(CompletableFuture<Decoded> f) {
    Decoded d = f.isDone() && !f.isCompletedExceptionally() ? f.getNow(null) : null;
    return d == null ? 0 : d.bytes().length;
  }
}
