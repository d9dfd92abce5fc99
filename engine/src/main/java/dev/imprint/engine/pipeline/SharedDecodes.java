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
import java.util.function.LongSupplier;

/**
 * Decoded chunks shared between readers of the same image that run at the same time (a station's
 * slots): the first reader to want a chunk reads, checks and decodes it, and the others that want
 * it meanwhile or soon after take the same buffer instead of decoding it again. Only while two or
 * more readers of one image are open; a lone restore never shares.
 *
 * <p>One direct buffer serves every reader: each reader {@link Hold holds} the chunk until it has
 * written it, and the buffer goes back to the process's free buffers ({@link BufferPool#recycle})
 * when no reader holds it and it is no longer kept. A chunk nobody holds is kept for readers to
 * come within a bound shared with the free buffers ({@link BufferPool#idleBound}), oldest first
 * out; a reader that finds nothing decodes for itself, so a drive that arrives late starts at once
 * and never waits for the others.
 */
final class SharedDecodes {
  /** A decoded chunk's bytes (position 0, limit its length; never written again) and xxHash64. */
  record Decoded(ByteBuffer bytes, long xxh) {}

  private record Key(String image, int index) {}

  /**
   * Decoded chunks an open reader still wants and nobody holds: up to twice the bound on free
   * buffers (128 MiB in a station, 256 MiB elsewhere). Measured with 16 drives attached at once on
   * a busy machine, the slowest started writing 1-3 s after the first: with 64 MiB kept the slots
   * decoded 1.15-1.92 times the image, with 128 MiB once.
   */
  static final SharedDecodes INSTANCE = new SharedDecodes(() -> 2 * BufferPool.idleBound());

  /** One chunk: its decode, the readers holding it, and whether it is still kept for others. */
  private static final class Entry {
    final CompletableFuture<Decoded> decoded = new CompletableFuture<>();
    final Key key;
    int holders = 1;
    int claims = 1;
    boolean kept = true;

    Entry(Key key) {
      this.key = key;
    }
  }

  /**
   * One reader's hold on a shared chunk. The reader that {@link #decodes()} must {@link #offer} or
   * {@link #withdraw}; the others {@link #await} its decode. Every hold is {@link #release}d once.
   */
  final class Hold {
    private final Entry entry;
    private final boolean decodes;
    private boolean released;

    private Hold(Entry entry, boolean decodes) {
      this.entry = entry;
      this.decodes = decodes;
    }

    boolean decodes() {
      return decodes;
    }

    /**
     * The decoded chunk, for the readers waiting on it and those to come: the buffer is the shares'
     * from now on (it must not be written or released by the caller).
     */
    void offer(ByteBuffer decoded, long xxh) {
      entry.decoded.complete(new Decoded(decoded, xxh));
      synchronized (SharedDecodes.this) {
        evict();
      }
    }

    /** The decode failed: waiting readers decode for themselves. Releases this hold. */
    void withdraw(Throwable why) {
      synchronized (SharedDecodes.this) {
        if (entry.kept) {
          entry.kept = false;
          kept.remove(entry.key, entry);
        }
      }
      entry.decoded.completeExceptionally(why);
      release();
    }

    /** Waits for another reader's decode; null if it failed or takes too long (decode yourself). */
    Decoded await() {
      try {
        return entry.decoded.get(30, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }

    /** This reader is done with the chunk (written it, or given up on it). */
    void release() {
      ByteBuffer free = null;
      synchronized (SharedDecodes.this) {
        if (released) {
          return;
        }
        released = true;
        if (--entry.holders == 0) {
          if (entry.kept && entry.claims >= readers.getOrDefault(entry.key.image(), 0)) {
            // Every reader open has had it: only drives to come could want it, and they decode.
            entry.kept = false;
            kept.remove(entry.key, entry);
            free = bufferOf(entry);
          } else if (entry.kept) {
            evict();
          } else {
            free = bufferOf(entry);
          }
        }
      }
      if (free != null) {
        BufferPool.recycle(free);
      }
    }
  }

  private final LongSupplier budget;
  private final Map<String, Integer> readers = new HashMap<>();
  private final LinkedHashMap<Key, Entry> kept = new LinkedHashMap<>();

  /** {@code budget}: the most bytes of decoded chunks kept that no reader holds. */
  SharedDecodes(LongSupplier budget) {
    this.budget = budget;
  }

  synchronized void open(String image) {
    readers.merge(image, 1, Integer::sum);
  }

  void close(String image) {
    java.util.List<ByteBuffer> free = new java.util.ArrayList<>();
    synchronized (this) {
      if (readers.merge(image, -1, Integer::sum) > 0) {
        return;
      }
      readers.remove(image);
      Iterator<Map.Entry<Key, Entry>> it = kept.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<Key, Entry> e = it.next();
        if (e.getKey().image().equals(image)) {
          it.remove();
          e.getValue().kept = false;
          if (e.getValue().holders == 0) {
            ByteBuffer b = bufferOf(e.getValue());
            if (b != null) {
              free.add(b);
            }
          }
        }
      }
    }
    free.forEach(BufferPool::recycle);
  }

  /**
   * A hold on chunk {@code index} of {@code image}, or null when it is not shared (fewer than two
   * readers of the image are open): decode it yourself and keep it.
   */
  synchronized Hold claim(String image, int index) {
    if (readers.getOrDefault(image, 0) < 2) {
      return null;
    }
    Key k = new Key(image, index);
    Entry e = kept.get(k);
    if (e != null) {
      e.holders++;
      e.claims++;
      return new Hold(e, false);
    }
    e = new Entry(k);
    kept.put(k, e);
    return new Hold(e, true);
  }

  /** Bytes of decoded chunks kept that no reader holds (for tests). */
  synchronized long unheldBytes() {
    long n = 0;
    for (Entry e : kept.values()) {
      if (e.holders == 0) {
        ByteBuffer b = bufferOf(e);
        n += b == null ? 0 : b.capacity();
      }
    }
    return n;
  }

  /** Drops the oldest kept chunks that no reader holds until those fit the budget. */
  private void evict() {
    long over = unheldBytes() - budget.getAsLong();
    Iterator<Entry> it = kept.values().iterator();
    java.util.List<ByteBuffer> free = new java.util.ArrayList<>();
    while (over > 0 && it.hasNext()) {
      Entry e = it.next();
      ByteBuffer b = e.holders == 0 ? bufferOf(e) : null;
      if (b != null) {
        it.remove();
        e.kept = false;
        over -= b.capacity();
        free.add(b);
      }
    }
    // Under this object's lock, but recycle only takes BufferPool's own short lock.
    free.forEach(BufferPool::recycle);
  }

  /** The entry's buffer once decoded, else null (still decoding, or failed). */
  private static ByteBuffer bufferOf(Entry e) {
    Decoded d =
        e.decoded.isDone() && !e.decoded.isCompletedExceptionally() ? e.decoded.getNow(null) : null;
    return d == null ? null : d.bytes();
  }
}
