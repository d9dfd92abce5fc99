package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code restore} without {@code --erase}: the file copy as the command line runs it. */
class FileCopyRestoreTest {
  @TempDir Path dir;

  @Test
  void copiesOntoADirectoryAndVerifies() throws Exception {
    Path s = Files.createDirectories(dir.resolve("src/sub"));
    Files.writeString(s.resolve("a"), "new");
    Path t = Files.createDirectories(dir.resolve("tgt"));
    Files.writeString(t.resolve("keep"), "keep");
    Files.createDirectories(t.resolve("sub/a"));
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            dir.resolve("src").toString(),
            "--target",
            t.toString(),
            "--noprompt");
    assertEquals(ExitCode.OK, r.code(), r::toString);
    assertTrue(r.out().contains("verified"), r::toString);
    assertEquals("new", Files.readString(t.resolve("sub/a")));
    assertEquals("keep", Files.readString(t.resolve("keep")));

    // --json: only JSON lines on standard output, the last one the finished event.
    CliRun.Result json =
        CliRun.run(
            "restore",
            "--source",
            dir.resolve("src").toString(),
            "--target",
            t.toString(),
            "--noprompt",
            "--json");
    assertEquals(ExitCode.OK, json.code(), json::toString);
    List<String> lines = json.out().strip().lines().toList();
    assertTrue(lines.stream().allMatch(l -> l.startsWith("{\"schema\":1,")), json::toString);
    assertTrue(
        lines.get(lines.size() - 1).contains("\"event\":\"finished\",\"ok\":true"), json::toString);
    assertTrue(lines.get(lines.size() - 1).contains("\"status\":\"succeeded\""), json::toString);
  }

  @Test
  void badInputIsOneLineAndExit2() throws Exception {
    Path s = Files.createDirectories(dir.resolve("src"));
    Path inner = Files.createDirectories(s.resolve("inner"));
    Path t = Files.createDirectories(dir.resolve("tgt"));
    for (String[] args :
        List.of(
            new String[] {"--source", dir.resolve("none").toString(), "--target", t.toString()},
            new String[] {"--source", s.toString(), "--target", inner.toString()},
            new String[] {"--source", s.toString(), "--target", t.toString(), "--target", t + "x"},
            new String[] {"--source", s.toString(), "--target", dir.resolve("nothere").toString()},
            new String[] {
              "--source", s.toString(), "--target", t.toString(), "--source-volume", "1"
            })) {
      String[] argv =
          Stream.concat(Stream.of("restore", "--noprompt"), Arrays.stream(args))
              .toArray(String[]::new);
      CliRun.Result r = CliRun.run(argv);
      assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
      assertEquals(1, r.err().strip().lines().count(), r::toString);
      assertFalse(r.err().contains("Exception"), r::toString);
    }
    // A file without a filesystem: the two modes explained.
    Path raw = dir.resolve("raw.img");
    Files.write(raw, new byte[1 << 20]);
    CliRun.Result r =
        CliRun.run("restore", "--noprompt", "--source", s.toString(), "--target", raw.toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("--erase"), r::toString);
  }

  /** A volume image as the source and an unmounted partition as the target: both mounted here. */
  @Test
  void mountsAVolumeImageSourceReadOnlyAndAPartitionTarget() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mke2fs", "mkfs.ext4", "blkid", "mount");
    Path tree = Files.createDirectories(dir.resolve("tree/d"));
    Files.writeString(tree.resolve("f"), "from the image");
    Path volume = dir.resolve("vol.img");
    Cmd.run(
        "mke2fs",
        "-q",
        "-t",
        "ext4",
        "-d",
        dir.resolve("tree").toString(),
        volume.toString(),
        "16M");
    byte[] before = Files.readAllBytes(volume);
    Path backing = dir.resolve("target.img");
    try (var f = new java.io.RandomAccessFile(backing.toFile(), "rw")) {
      f.setLength(64L << 20);
    }
    try (LoopDevice loop = LoopDevice.attach(backing)) {
      Cmd.run("mkfs.ext4", "-q", "-F", loop.path().toString());
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              volume.toString(),
              "--target",
              loop.path().toString(),
              "--noprompt");
      assertEquals(ExitCode.OK, r.code(), r::toString);
      assertArrayEquals(before, Files.readAllBytes(volume), "the source image was written to");
      assertFalse(
          Cmd.run("cat", "/proc/self/mountinfo").contains(loop.path().toString()), "left mounted");
      try (TempMount m = TempMount.mount(loop.path())) {
        assertEquals("from the image", Files.readString(m.mountPoint().resolve("d/f")));
      }
    }
  }

  /**
   * SIGKILL in the middle of a copy: every file under its real name is whole, either the target's
   * old one or the source's, never a part.
   */
  @Test
  void aKillMidCopyLeavesNoHalfFileUnderARealName() throws Exception {
    Path s = Files.createDirectories(dir.resolve("src"));
    Path t = Files.createDirectories(dir.resolve("tgt"));
    Random random = new Random(14);
    int files = 300;
    for (int i = 0; i < files; i++) {
      byte[] data = new byte[(256 << 10) + i];
      random.nextBytes(data);
      Files.write(s.resolve("f" + i), data);
      Files.writeString(t.resolve("f" + i), "old " + i);
    }
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "restore",
                "--source",
                s.toString(),
                "--target",
                t.toString(),
                "--noprompt",
                "--noverify")
            .redirectOutput(dir.resolve("out.txt").toFile())
            .redirectError(dir.resolve("err.txt").toFile())
            .start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!started(t)) {
        assertTrue(p.isAlive(), "imprint ended before it was killed");
        assertTrue(System.nanoTime() < deadline, "no copy began in 60 s");
        Thread.sleep(2);
      }
      p.destroyForcibly(); // SIGKILL
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    int copied = 0;
    int old = 0;
    for (int i = 0; i < files; i++) {
      byte[] got = Files.readAllBytes(t.resolve("f" + i));
      if (Arrays.equals(got, ("old " + i).getBytes())) {
        old++;
      } else {
        assertArrayEquals(Files.readAllBytes(s.resolve("f" + i)), got, "f" + i + " is half a file");
        copied++;
      }
    }
    assertTrue(old > 0, "the kill came after the copy ended: nothing was tested");
    try (Stream<Path> all = Files.list(t)) {
      // Besides the real names only temporary ones, which a --delete run removes.
      assertTrue(
          all.map(x -> x.getFileName().toString())
              .allMatch(n -> n.matches("f\\d+") || n.startsWith(".imprint-tmp-")));
    }
    assertTrue(copied + old == files);
  }

  /** A temporary file or a replaced file exists: the copy is under way. */
  private static boolean started(Path t) throws Exception {
    try (Stream<Path> all = Files.list(t)) {
      return all.anyMatch(x -> x.getFileName().toString().startsWith(".imprint-tmp-"));
    }
  }
}
