package dev.imprint.actors.filecopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.filecopy.FileCopy;
import dev.imprint.engine.filecopy.FileCopyOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileCopyJobTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @TempDir Path dir;

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private FileCopyJob.Result run(Path source, Path target) {
    TestProbe<FileCopyEvent> probe = testKit.createTestProbe();
    FileCopy copy =
        new FileCopy(source, target, FileCopyOptions.defaults(), FileCopyJob.warnings(probe.ref()));
    testKit.spawn(FileCopyJob.create(copy, probe.ref()));
    while (true) {
      FileCopyEvent e = probe.receiveMessage(Duration.ofSeconds(60));
      if (e instanceof FileCopyEvent.Ended end) {
        return end.result();
      }
    }
  }

  @Test
  void copiesVerifiesAndEnds() throws Exception {
    Path s = Files.createDirectories(dir.resolve("src/d"));
    Files.writeString(s.resolve("f"), "data");
    Path t = Files.createDirectories(dir.resolve("tgt"));
    FileCopyJob.Result r = run(dir.resolve("src"), t);
    assertEquals(FileCopyJob.Status.SUCCEEDED, r.status(), r.toString());
    assertTrue(r.report().verified());
    assertEquals("data", Files.readString(t.resolve("d/f")));
  }

  @Test
  void aMissingSourceIsRefused() throws Exception {
    Path t = Files.createDirectories(dir.resolve("tgt"));
    FileCopyJob.Result r = run(dir.resolve("none"), t);
    assertEquals(FileCopyJob.Status.REFUSED, r.status(), r.toString());
    assertTrue(r.message().contains("does not exist"), r.message());
  }
}
