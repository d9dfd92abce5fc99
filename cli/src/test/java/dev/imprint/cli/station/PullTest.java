package dev.imprint.cli.station;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.cli.ExitCode;
import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A drive pulled mid-restore, as the kernel shows a USB disk that goes away: its capacity drops to
 * nothing, every I/O fails, and a uevent says it changed. Here a loop device's backing file is cut
 * to zero and the loop told to re-read its size ({@code losetup -c}). Only that slot fails; the
 * other finishes; plugging the drive back starts a new job; SIGTERM then stops the station.
 */
class PullTest {
  private static final long MIB = 1 << 20;

  @TempDir Path dir;
  private final Cleanup cleanup = new Cleanup();

  @AfterEach
  void clean() {
    cleanup.run(dir);
  }

  @Test
  void aPulledDriveFailsAloneAndPluggingItBackStartsAgain() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("losetup", "truncate", "kill");
    long size = 384 * MIB;
    Path source = TestData.randomFile(dir.resolve("golden.img"), size, 5);
    Path a = dir.resolve("a.img");
    Path b = dir.resolve("b.img");
    for (Path p : new Path[] {a, b}) {
      try (RandomAccessFile r = new RandomAccessFile(p.toFile(), "rw")) {
        r.setLength(size);
      }
    }
    try (StationProcess s =
        StationProcess.erasing(
            dir, source, dir.resolve("audit.jsonl"), "--probe-capacity", "never")) {
      LoopDevice la = LoopDevice.attach(a);
      cleanup.add(la);
      LoopDevice lb = LoopDevice.attach(b);
      cleanup.add(lb);
      s.awaitState(la.path(), "writing", 120);
      pull(la, a);
      String failed = s.awaitState(la.path(), "failed", 60);
      s.awaitState(la.path(), "removed", 60);
      s.awaitState(lb.path(), "done", 300);
      assertTrue(failed.contains("\"detail\":\""), failed);
      long checks =
          s.lines().stream()
              .filter(
                  l ->
                      l.contains("\"device\":\"" + la.path() + "\"")
                          && l.contains("\"state\":\"checking\""))
              .count();
      assertEquals(1, checks);

      // Plugged back: a new job, which succeeds.
      Cmd.run("truncate", "-s", Long.toString(size), a.toString());
      Cmd.run("losetup", "-c", la.path().toString());
      s.await(
          l -> l.contains("\"device\":\"" + la.path() + "\"") && l.contains("\"state\":\"done\""),
          300);
      Cmd.run("kill", "-TERM", Long.toString(s.pid()));
      assertEquals(ExitCode.TARGETS_FAILED, s.exit(60), s::output);
      assertTrue(s.output().contains("\"event\":\"draining\""), s::output);
    }
    assertEquals(TestData.sha256(source), TestData.sha256(b));
    assertEquals(TestData.sha256(source), TestData.sha256(a));
  }

  @Test
  void aSecondSignalAbortsRunningJobsAndLeavesTheirDisksNotLookingValid() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("kill");
    long size = 384 * MIB;
    Path source = TestData.randomFile(dir.resolve("golden.img"), size, 6);
    Path a = dir.resolve("a.img");
    try (RandomAccessFile r = new RandomAccessFile(a.toFile(), "rw")) {
      r.setLength(size);
    }
    try (StationProcess s =
        StationProcess.erasing(
            dir, source, dir.resolve("audit.jsonl"), "--probe-capacity", "never")) {
      LoopDevice la = LoopDevice.attach(a);
      cleanup.add(la);
      s.awaitState(la.path(), "writing", 120);
      Cmd.run("kill", "-TERM", Long.toString(s.pid()));
      s.await(l -> l.contains("\"event\":\"draining\""), 30);
      Cmd.run("kill", "-TERM", Long.toString(s.pid()));
      String failed = s.awaitState(la.path(), "failed", 60);
      assertTrue(failed.contains("aborted"), failed);
      assertEquals(ExitCode.INTERRUPTED, s.exit(60), s::output);
    }
    byte[] head = new byte[(int) MIB];
    try (RandomAccessFile r = new RandomAccessFile(a.toFile(), "r")) {
      r.readFully(head);
    }
    assertTrue(java.util.Arrays.equals(head, new byte[(int) MIB]), "the first MiB was written");
  }

  /** Cuts the loop device's capacity to zero, as a disk that is gone. */
  private static void pull(LoopDevice loop, Path file) throws Exception {
    Path sizeFile = Path.of("/sys/block", loop.path().getFileName().toString(), "size");
    for (int i = 0; i < 100; i++) {
      Cmd.run("truncate", "-s", "0", file.toString());
      Cmd.run("losetup", "-c", loop.path().toString());
      if (Files.readString(sizeFile).trim().equals("0")) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError(loop + " kept a size: " + Files.readString(sizeFile));
  }
}
