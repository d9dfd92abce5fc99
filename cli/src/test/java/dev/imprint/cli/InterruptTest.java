package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C in the middle of a restore, as a user does it: a real imprint process gets SIGINT, stops
 * reading, leaves the target not looking valid and exits 130. No root needed.
 */
class InterruptTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  @Test
  void sigintCancelsARunningRestoreCleanly() throws Exception {
    dev.imprint.engine.testing.Root.assumeCommands("kill");
    Path target = dir.resolve("target.img");
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "restore",
                "--source",
                "-",
                "--target",
                target.toString(),
                "--erase",
                "--noprompt")
            .redirectOutput(dir.resolve("out.txt").toFile())
            .redirectError(dir.resolve("err.txt").toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    p.pid();
    try {
      // 16 MiB of a disk that never ends: the restore is still reading when it is interrupted.
      OutputStream in = p.getOutputStream();
      byte[] disk = new byte[16 * MIB];
      new Random(9).nextBytes(disk);
      in.write(disk);
      in.flush();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!written(target, 4 * MIB, disk)) {
        assertTrue(p.isAlive(), () -> "imprint ended early: " + output());
        assertTrue(System.nanoTime() < deadline, () -> "nothing written in 60 s: " + output());
        Thread.sleep(20);
      }
      new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "imprint did not stop within 30 s of SIGINT");
      assertEquals(ExitCode.INTERRUPTED, p.exitValue(), this::output);
      assertTrue(output().contains("cancelled"), this::output);
      assertTrue(!output().contains("Exception"), this::output);
      byte[] head = new byte[MIB];
      try (FileChannel c = FileChannel.open(target)) {
        c.read(ByteBuffer.wrap(head), 0);
      }
      for (byte b : head) {
        assertEquals(0, b, "the first MiB (the partition table's place) must stay wiped");
      }
    } finally {
      p.destroyForcibly();
    }
  }

  /** Whether the chunk at {@code offset} is on the target: the restore is well under way. */
  private static boolean written(Path target, int offset, byte[] disk) throws IOException {
    if (!Files.exists(target) || Files.size(target) < offset + MIB) {
      return false;
    }
    byte[] got = new byte[MIB];
    try (FileChannel c = FileChannel.open(target)) {
      c.read(ByteBuffer.wrap(got), offset);
    }
    return java.util.Arrays.equals(got, 0, MIB, disk, offset, offset + MIB);
  }

  private String output() {
    try {
      return String.join(
          "\n",
          List.of(
              "--- stdout ---",
              Files.readString(dir.resolve("out.txt"), StandardCharsets.UTF_8),
              "--- stderr ---",
              Files.readString(dir.resolve("err.txt"), StandardCharsets.UTF_8)));
    } catch (IOException e) {
      return e.toString();
    }
  }
}
