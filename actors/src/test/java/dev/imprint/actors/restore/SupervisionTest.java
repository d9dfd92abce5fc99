package dev.imprint.actors.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.DiskChunks;
import dev.imprint.engine.pipeline.RestoreOptions;
import dev.imprint.engine.pipeline.TargetWriter;
import dev.imprint.engine.pipeline.Verifier;
import dev.imprint.engine.source.DecodedDisk;
import dev.imprint.engine.source.Magic;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failure paths of a restore session, without root: targets that die mid-write, all targets
 * failing, a verify mismatch, cancellation, and the progress a front end sees.
 */
class SupervisionTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final int MIB = 1 << 20;

  @TempDir Path dir;

  @AfterAll
  static void cleanup() {
    testKit.shutdownTestKit();
  }

  /** A raw disk arriving through a pipe the test feeds, counting what the restore reads. */
  static final class Feed {
    final OutputStream out;
    final AtomicLong read = new AtomicLong();
    final InputStream in;

    Feed() throws IOException {
      // An OS pipe: unlike PipedInputStream it does not care which thread wrote last.
      Pipe pipe = Pipe.open();
      out = Channels.newOutputStream(pipe.sink());
      InputStream raw = Channels.newInputStream(pipe.source());
      in =
          new InputStream() {
            @Override
            public int read() throws IOException {
              int b = raw.read();
              if (b >= 0) {
                read.incrementAndGet();
              }
              return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              int n = raw.read(b, off, len);
              if (n > 0) {
                read.addAndGet(n);
              }
              return n;
            }

            @Override
            public void close() throws IOException {
              raw.close();
            }
          };
    }

    ChunkSupply supply(long size) throws IOException {
      return new DiskChunks(
          DecodedDisk.open("feed", in, Magic.Format.RAW, OptionalLong.of(size)), MIB);
    }

    /** Writes {@code bytes} from another thread, so the test can go on waiting for conditions. */
    Thread feed(byte[] bytes, int from, int to, boolean close) {
      Thread t =
          new Thread(
              () -> {
                try {
                  out.write(bytes, from, to - from);
                  out.flush();
                  if (close) {
                    out.close();
                  }
                } catch (IOException e) {
                  // The restore stopped reading: that is what some tests want.
                }
              });
      t.setDaemon(true);
      t.start();
      return t;
    }
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private TargetWriter target(String name) throws IOException {
    Path t = dir.resolve(name);
    return new TargetWriter(t.toString(), TargetDevice.open(t, OpenMode.SHARED), false);
  }

  private ActorRef<RestoreSession.Command> start(
      ChunkSupply supply, List<TargetWriter> writers, boolean verify, TestProbe<RestoreEvent> p) {
    return testKit.spawn(
        RestoreSession.create(
            new RestoreSession.Job(supply, writers, new RestoreOptions(2, MIB), verify, MIB),
            p.getRef()));
  }

  /** Events until Finished; each target's state must only move forward. */
  private static List<RestoreEvent> untilFinished(TestProbe<RestoreEvent> probe) {
    List<RestoreEvent> all = new ArrayList<>();
    Map<String, TargetState> last = new HashMap<>();
    while (true) {
      RestoreEvent e = probe.receiveMessage(Duration.ofSeconds(60));
      all.add(e);
      if (e instanceof RestoreEvent.StateChanged s) {
        TargetState before = last.getOrDefault(s.target(), TargetState.VALIDATING);
        assertTrue(s.state().ordinal() >= before.ordinal(), before + " -> " + s.state());
        last.put(s.target(), s.state());
      }
      if (e instanceof RestoreEvent.Finished) {
        return all;
      }
    }
  }

  private static RestoreEvent.Finished finished(List<RestoreEvent> events) {
    return (RestoreEvent.Finished) events.get(events.size() - 1);
  }

  private static RestoreEvent.Outcome outcome(RestoreEvent.Finished f, TargetWriter w) {
    return f.outcomes().stream().filter(o -> o.target().equals(w.name())).findFirst().orElseThrow();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(5);
    }
  }

  /** Whether no descriptor of this process is open on {@code p} any more. */
  private static boolean released(Path p) {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      Path real = p.toRealPath();
      return fds.noneMatch(
          fd -> {
            try {
              return Files.readSymbolicLink(fd).equals(real);
            } catch (IOException e) {
              return false; // closed meanwhile
            }
          });
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aTargetThatDiesMidWriteFailsAloneAndTheOthersFinishVerified() throws Exception {
    byte[] disk = random(24 * MIB, 1);
    Feed feed = new Feed();
    TargetWriter dying = target("dying");
    TargetWriter healthy = target("healthy");
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    start(feed.supply(disk.length), List.of(dying, healthy), true, probe);
    feed.feed(disk, 0, 8 * MIB, false).join();
    await("the first writes", () -> dying.written() > 0);
    // The device goes away under the running restore, as an unplugged dock does.
    dying.device().close();
    feed.feed(disk, 8 * MIB, disk.length, true);
    RestoreEvent.Finished f = finished(untilFinished(probe));
    RestoreEvent.Outcome bad = outcome(f, dying);
    assertEquals(TargetState.FAILED, bad.state());
    assertFalse(bad.verifyFailed());
    assertEquals(TargetState.DONE, outcome(f, healthy).state(), f.toString());
    assertEquals(-1, Files.mismatch(healthy.device().path(), writeTo(disk, "expected")));
    // Its first MiB (the partition table's place) was never written: it does not look valid.
    assertTrue(allZero(dying.device().path(), 0, MIB));
  }

  @Test
  void whenEveryTargetHasFailedTheSourceStopsBeingReadAtOnce() throws Exception {
    long claimed = 4096L * MIB;
    Feed feed = new Feed();
    TargetWriter a = target("a");
    TargetWriter b = target("b");
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    start(feed.supply(claimed), List.of(a, b), true, probe);
    // An endless source: it would take minutes to read all 4 GiB.
    Thread source =
        new Thread(
            () -> {
              byte[] block = random(MIB, 2);
              try {
                while (true) {
                  feed.out.write(block);
                }
              } catch (IOException e) {
                // Closed by the restore when it stopped reading.
              }
            });
    source.setDaemon(true);
    source.start();
    await("the first writes", () -> a.written() > 0 && b.written() > 0);
    a.device().close();
    b.device().close();
    await("both targets to fail", () -> a.failed() && b.failed());
    long readWhenLastFailed = feed.read.get();
    RestoreEvent.Finished f = finished(untilFinished(probe));
    for (RestoreEvent.Outcome o : f.outcomes()) {
      assertEquals(TargetState.FAILED, o.state());
    }
    long after = feed.read.get() - readWhenLastFailed;
    // At most the chunks already in flight (decode parallelism and stage buffers), not the rest.
    assertTrue(after <= 16L * MIB, "read " + after + " bytes after the last target failed");
    assertTrue(feed.read.get() < claimed / 8, "read " + feed.read.get());
  }

  @Test
  void aVerifyMismatchFailsThatTargetAsAVerifyFailureNamingTheOffset() throws Exception {
    byte[] disk = random(16 * MIB, 3);
    Feed feed = new Feed();
    TargetWriter w = target("t");
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    start(feed.supply(disk.length), List.of(w), true, probe);
    feed.feed(disk, 0, 8 * MIB, false).join();
    // Once chunk 2 is on the target (chunk 0 is held back until the end), damage it.
    byte[] chunk2 = java.util.Arrays.copyOfRange(disk, 2 * MIB, 3 * MIB);
    await(
        "chunk 2 written",
        () -> java.util.Arrays.equals(read(w.device().path(), 2 * MIB, MIB), chunk2));
    try (FileChannel c = FileChannel.open(w.device().path(), StandardOpenOption.WRITE)) {
      c.write(ByteBuffer.wrap(new byte[] {(byte) ~disk[2 * MIB + 100]}), 2 * MIB + 100);
    }
    feed.feed(disk, 8 * MIB, disk.length, true);
    RestoreEvent.Finished f = finished(untilFinished(probe));
    RestoreEvent.Outcome o = outcome(f, w);
    assertEquals(TargetState.FAILED, o.state());
    assertTrue(o.verifyFailed(), o.toString());
    assertTrue(o.detail().contains("at byte " + 2 * MIB), o.detail());
    // Its tables had been written before the read-back: they are wiped again.
    await("the first MiB wiped again", () -> released(w.device().path()));
    assertTrue(allZero(w.device().path(), 0, MIB), "first MiB after a failed verify");
  }

  @Test
  void cancellingStopsReadingAndLeavesTargetsNotLookingValid() throws Exception {
    byte[] disk = random(64 * MIB, 4);
    Feed feed = new Feed();
    TargetWriter a = target("a");
    TargetWriter b = target("b");
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    ActorRef<RestoreSession.Command> session =
        start(feed.supply(disk.length), List.of(a, b), true, probe);
    feed.feed(disk, 0, 8 * MIB, false).join();
    await("the first writes", () -> a.written() > 0 && b.written() > 0);
    session.tell(new RestoreSession.Cancel("interrupted"));
    RestoreEvent.Finished f = finished(untilFinished(probe));
    for (RestoreEvent.Outcome o : f.outcomes()) {
      assertEquals(TargetState.FAILED, o.state());
      assertTrue(o.detail().contains("cancelled"), o.detail());
    }
    for (TargetWriter w : List.of(a, b)) {
      assertTrue(allZero(w.device().path(), 0, MIB), "first MiB of " + w.name());
      await("the O_EXCL hold on " + w.name() + " released", () -> released(w.device().path()));
    }
    assertTrue(feed.read.get() < 16L * MIB, "read " + feed.read.get());
  }

  @Test
  void progressRunsForwardToTheTotalThroughEveryPhase() throws Exception {
    byte[] disk = random(32 * MIB, 5);
    Path src = writeTo(disk, "src");
    TargetWriter w = target("t");
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    start(
        new DiskChunks(dev.imprint.engine.source.FileDisk.open(src), MIB), List.of(w), true, probe);
    List<RestoreEvent> events = untilFinished(probe);
    List<TargetState> states = new ArrayList<>();
    Map<TargetState, Long> lastDone = new HashMap<>();
    for (RestoreEvent e : events) {
      if (e instanceof RestoreEvent.StateChanged s) {
        states.add(s.state());
      } else if (e instanceof RestoreEvent.Progress p) {
        long before = lastDone.getOrDefault(p.phase(), 0L);
        assertTrue(p.done() >= before, p.phase() + " went back: " + before + " -> " + p.done());
        assertTrue(p.done() <= p.total() && p.total() > 0, p.toString());
        lastDone.put(p.phase(), p.done());
      }
    }
    assertEquals(
        List.of(TargetState.ERASING, TargetState.WRITING, TargetState.VERIFYING, TargetState.DONE),
        states);
    assertEquals((long) disk.length, lastDone.get(TargetState.WRITING));
    assertEquals((long) disk.length, lastDone.get(TargetState.VERIFYING));
    assertTrue(finished(events).allSucceeded());
  }

  @Test
  void aTargetSessionThatIsStoppedReleasesItsWriter() throws Exception {
    TargetWriter w = target("t");
    TestProbe<RestoreSession.Command> parent = testKit.createTestProbe();
    TestProbe<RestoreEvent> events = testKit.createTestProbe();
    Verifier verifier = new Verifier(Materializer.matFromSystem(testKit.system()), MIB);
    ActorRef<TargetSession.Command> s =
        testKit.spawn(TargetSession.create(w, parent.getRef(), events.getRef(), verifier));
    s.tell(new TargetSession.Erase(8 * MIB));
    parent.expectMessageClass(RestoreSession.TargetErased.class, Duration.ofSeconds(30));
    s.tell(new TargetSession.Writing(8 * MIB));
    assertFalse(released(w.device().path()), "held while the session lives");
    testKit.stop(s, Duration.ofSeconds(10));
    await("the O_EXCL hold released", () -> released(w.device().path()));
    assertTrue(w.failed(), "a writer whose session died takes no more chunks");
  }

  private Path writeTo(byte[] bytes, String name) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, bytes);
    return p;
  }

  private static byte[] read(Path p, long from, int len) {
    try (FileChannel c = FileChannel.open(p)) {
      ByteBuffer b = ByteBuffer.allocate(len);
      c.read(b, from);
      return b.array();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static boolean allZero(Path p, long from, int len) throws IOException {
    try (FileChannel c = FileChannel.open(p)) {
      ByteBuffer b = ByteBuffer.allocate(len);
      c.read(b, from);
      b.flip();
      while (b.hasRemaining()) {
        if (b.get() != 0) {
          return false;
        }
      }
      return true;
    }
  }
}
