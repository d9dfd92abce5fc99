package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.RangeKind;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class MemoryBudgetTest {
  private static final int MIB = 1 << 20;

  /** The most chunk buffers a plan can have at once: decoded (capped) and stored ones. */
  private static long peak(MemoryBudget.RestorePlan p) {
    return p.buffers() + (long) p.decode();
  }

  @Test
  void bigChunksToManyTargetsKeepFewerInFlightWithinTheBudget() {
    int cs = 64 * MIB;
    int held = MemoryBudget.heldChunks(1 << 20, cs);
    for (long limit : new long[] {640L * MIB, 1024L * MIB, 4096L * MIB}) {
      MemoryBudget budget = new MemoryBudget((long) (limit * MemoryBudget.SHARE));
      for (int targets = 1; targets <= 16; targets++) {
        MemoryBudget.RestorePlan p = budget.restore(cs, targets, 3, 4, held);
        assertTrue(peak(p) * cs <= budget.bytes(), limit + " " + targets + ": " + p);
        // Never below what keeps the stream moving: the held chunks and one more.
        assertTrue(p.buffers() > held + p.decode(), p.toString());
        assertEquals(1, p.writesPerTarget(), "64 MiB writes: one in flight is enough");
      }
      assertTrue(budget.verifyBuffers(cs) * (long) cs <= budget.bytes());
    }
    assertEquals(1, MemoryBudget.perTarget(cs, Verifier.READS_IN_FLIGHT));
  }

  @Test
  void atTheMinimumAPlanStillFitsTheJvmLimit() {
    for (int cs = 64 << 10; cs <= 64 * MIB; cs <<= 1) {
      long limit = MemoryBudget.minimumFor(cs, 1 << 20);
      MemoryBudget budget = new MemoryBudget((long) (limit * MemoryBudget.SHARE));
      int held = MemoryBudget.heldChunks(1 << 20, cs);
      for (int targets = 1; targets <= 32; targets *= 2) {
        MemoryBudget.RestorePlan p = budget.restore(cs, targets, 3, 4, held);
        assertTrue(peak(p) * cs <= limit, cs + " " + targets + ": " + p);
        assertTrue(p.buffers() > held + p.decode(), p.toString());
      }
    }
    assertEquals(448L * MIB, MemoryBudget.minimumFor(64 * MIB, 1 << 20));
  }

  @Test
  void smallChunksKeepFullParallelism() {
    MemoryBudget budget = new MemoryBudget(768L * MIB);
    MemoryBudget.RestorePlan p =
        budget.restore(4 * MIB, 12, 3, 4, MemoryBudget.heldChunks(1 << 20, 4 * MIB));
    assertEquals(3, p.decode());
    assertEquals(4, p.writesPerTarget());
    assertEquals(4, MemoryBudget.perTarget(4 * MIB, Verifier.READS_IN_FLIGHT));
  }

  @Test
  void theJvmBudgetIsAShareOfItsDirectMemoryLimit() {
    long b = MemoryBudget.ofJvm().bytes();
    assertTrue(b > 0 && b <= MemoryBudget.maxDirectMemory());
  }

  @Test
  void aLimitedPoolWaitsForARelease() throws Exception {
    BufferPool pool = new BufferPool(4096, 2);
    ByteBuffer a = pool.acquire();
    ByteBuffer b = pool.acquire();
    CompletableFuture<ByteBuffer> third = CompletableFuture.supplyAsync(pool::acquire);
    assertThrows(TimeoutException.class, () -> third.get(300, TimeUnit.MILLISECONDS));
    pool.release(a);
    ByteBuffer c = third.get(10, TimeUnit.SECONDS);
    assertEquals(2, pool.out());
    pool.release(b);
    pool.release(c);
    assertEquals(0, pool.out());
  }

  @Test
  void poolsSharingABoundWaitBeyondTheirReserveUntilAnotherReleases() throws Exception {
    int size = 8192 + 4096; // a size no other test uses
    BufferPool.shareDirectMemory(size);
    try {
      BufferPool p1 = new BufferPool(size);
      BufferPool p2 = new BufferPool(size);
      p1.acquire(); // reserved
      ByteBuffer beyond = p1.acquire(); // the shared one
      p2.acquire(); // reserved: never waits
      CompletableFuture<ByteBuffer> waiting = CompletableFuture.supplyAsync(p2::acquire);
      assertThrows(TimeoutException.class, () -> waiting.get(300, TimeUnit.MILLISECONDS));
      p1.release(beyond);
      assertEquals(size, waiting.get(10, TimeUnit.SECONDS).capacity());
    } finally {
      BufferPool.shareDirectMemory(Long.MAX_VALUE);
    }
  }

  @Test
  void aBufferTheFreeListHasNoRoomForIsFreedAtOnceNotLeftToTheCollector() {
    int size = (16 << 20) + 5 * 4096; // a size no other test uses
    java.lang.management.BufferPoolMXBean direct =
        java.lang.management.ManagementFactory.getPlatformMXBeans(
                java.lang.management.BufferPoolMXBean.class)
            .stream()
            .filter(b -> b.getName().equals("direct"))
            .findFirst()
            .orElseThrow();
    BufferPool.shareDirectMemory(size); // room for one free buffer
    try {
      BufferPool pool = new BufferPool(size);
      List<ByteBuffer> out = List.of(pool.acquire(), pool.acquire(), pool.acquire());
      long before = direct.getMemoryUsed();
      out.forEach(pool::release);
      long freed = before - direct.getMemoryUsed();
      assertTrue(freed >= 2L * size, "freed " + freed + " bytes, want two buffers' worth");
      ByteBuffer again = pool.acquire(); // the one kept, still sound
      again.putLong(size - 8, 42);
      assertEquals(42, again.getLong(size - 8));
      pool.release(again);
    } finally {
      BufferPool.shareDirectMemory(Long.MAX_VALUE);
    }
  }

  @Test
  void aClosedPoolLeavesItsBuffersToTheNextPoolOfItsSize() {
    BufferPool pool = new BufferPool(4096);
    ByteBuffer a = pool.acquire();
    pool.release(a);
    assertTrue(pool.acquire() == a, "reused while open");
    pool.close();
    pool.release(a);
    assertTrue(new BufferPool(4096).acquire() == a, "kept for the next job");
  }

  @Test
  void rangeListSortsAndKeepsEveryField() {
    int n = (RangeList.HEAP_BLOCKS + 2) * RangeList.BLOCK + 123; // some blocks spooled to a file
    List<Chunk.Range> want = new ArrayList<>();
    RangeKind[] kinds = RangeKind.values();
    for (int i = 0; i < n; i++) {
      want.add(new Chunk.Range((long) i * 4096, 4096 + i % 7, kinds[i % 3], i * 31L - 5, null));
    }
    List<Chunk.Range> shuffled = new ArrayList<>(want);
    Collections.shuffle(shuffled, new Random(1));
    RangeList list = new RangeList();
    shuffled.forEach(list::add);
    assertEquals(n, list.size());
    list.sort();
    for (int i = 0; i < n; i++) {
      assertEquals(want.get(i), list.get(i));
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> list.add(new Chunk.Range(0, 1, RangeKind.DATA, 0, new byte[32])));
  }
}
