package dev.imprint.actors.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.image.MetadataCheck;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.DiskChunks;
import dev.imprint.engine.pipeline.RestoreOptions;
import dev.imprint.engine.pipeline.StreamedImageChunks;
import dev.imprint.engine.pipeline.TargetWriter;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.source.SequentialDisk;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RestoreSessionTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @TempDir Path dir;

  @AfterAll
  static void cleanup() {
    testKit.shutdownTestKit();
  }

  private Path raw(int mib) throws IOException {
    Path p = dir.resolve("disk.raw");
    byte[] b = new byte[mib << 20];
    new Random(3).nextBytes(b);
    for (int i = 2 << 20; i < 4 << 20; i++) {
      b[i] = 0;
    }
    Files.write(p, b);
    return p;
  }

  private List<TargetWriter> targets(int n) throws IOException {
    List<TargetWriter> l = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Path t = dir.resolve("t" + i);
      l.add(new TargetWriter(t.toString(), TargetDevice.open(t, OpenMode.SHARED), false));
    }
    return l;
  }

  /** Collects events until Finished, checking each target's state only moves forward. */
  private RestoreEvent.Finished run(
      ChunkSupply supply, List<TargetWriter> writers, boolean verify) {
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    testKit.spawn(
        RestoreSession.create(
            new RestoreSession.Job(
                supply, writers, new RestoreOptions(2, 1 << 20), verify, 1 << 20),
            probe.getRef()));
    java.util.Map<String, TargetState> last = new java.util.HashMap<>();
    while (true) {
      RestoreEvent e = probe.receiveMessage(Duration.ofSeconds(30));
      if (e instanceof RestoreEvent.StateChanged s) {
        TargetState before = last.getOrDefault(s.target(), TargetState.VALIDATING);
        assertTrue(s.state().ordinal() >= before.ordinal(), before + " -> " + s.state());
        last.put(s.target(), s.state());
      }
      if (e instanceof RestoreEvent.Finished f) {
        return f;
      }
    }
  }

  @Test
  void everyTargetIsWrittenAndVerified() throws Exception {
    Path raw = raw(8);
    List<TargetWriter> writers = targets(3);
    RestoreEvent.Finished f = run(new DiskChunks(FileDisk.open(raw), 1 << 20), writers, true);
    assertTrue(f.allSucceeded(), f.toString());
    assertEquals(3, f.outcomes().size());
    for (TargetWriter w : writers) {
      assertEquals(-1, Files.mismatch(raw, w.device().path()));
    }
  }

  @Test
  void aSourceThatFailsFailsEveryTargetWithTheReason() throws Exception {
    // Not an image at all after its first bytes: the pipe reader fails part-way.
    byte[] junk = new byte[1 << 20];
    System.arraycopy("IMPRINT\0".getBytes(), 0, junk, 0, 8);
    IOException refused = null;
    try {
      new StreamedImageChunks(new ByteArrayInputStream(junk), "pipe", MetadataCheck.NONE);
    } catch (IOException e) {
      refused = e;
    }
    // A header that can't be read is refused before any session starts.
    assertTrue(refused != null && refused.getMessage().contains("pipe"));

    List<TargetWriter> writers = targets(2);
    // A source disk that dies part-way, as a failing drive does: reads fail with EIO.
    SequentialDisk dying =
        new SequentialDisk() {
          int reads;

          @Override
          public java.util.OptionalLong size() {
            return java.util.OptionalLong.of(8 << 20);
          }

          @Override
          public int readFully(java.nio.ByteBuffer dst) throws IOException {
            if (++reads > 3) {
              throw new IOException("/dev/sdz (disk.raw): read failed: Input/output error");
            }
            int n = dst.remaining();
            dst.put(new byte[n]).put(dst.position() - 1, (byte) 1);
            return n;
          }

          @Override
          public String description() {
            return "disk.raw";
          }

          @Override
          public void close() {}
        };
    RestoreEvent.Finished f = run(new DiskChunks(dying, 1 << 20), writers, true);
    assertFalse(f.allSucceeded());
    for (RestoreEvent.Outcome o : f.outcomes()) {
      assertEquals(TargetState.FAILED, o.state());
      assertTrue(o.detail().contains("disk.raw"), o.detail());
      assertFalse(o.verifyFailed());
    }
  }
}
