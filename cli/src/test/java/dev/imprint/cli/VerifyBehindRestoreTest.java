package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A verified restore large enough to be read back while it is written (more than one 128 MiB batch)
 * onto a larger loop device, so the table fix rewrites the backup GPT after the early read-back:
 * the disk must verify and hold the image, and a byte changed afterwards must be found. Needs root
 * (loop devices) and sgdisk.
 */
class VerifyBehindRestoreTest {
  static final long MIB = 1 << 20;

  @TempDir Path dir;

  @Test
  void aRestoreReadBackWhileWritingVerifiesAndHoldsTheImage() throws IOException {
    Root.assumeRoot();
    Root.assumeCommands("sgdisk");
    // 320 MiB of random bytes under a GPT with one partition: every block is data.
    Path disk = dir.resolve("disk.img");
    TestData.randomFile(disk, 320 * MIB, 41);
    Cmd.run("sgdisk", "-o", "-n", "1:2048:0", "-t", "1:8300", disk.toString());
    Path image = dir.resolve("disk.imprint");
    CliRun.Result c =
        CliRun.run(
            "create",
            "--source",
            disk.toString(),
            "--output",
            image.toString(),
            "--all-blocks",
            "--compress",
            "none");
    assertEquals(0, c.code(), c::toString);

    Path backing = dir.resolve("target.bin");
    TestData.randomFile(backing, 384 * MIB, 42);
    try (LoopDevice t = LoopDevice.attach(backing)) {
      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              image.toString(),
              "--target",
              t.path().toString(),
              "--erase",
              "--noprompt",
              "--json");
      assertEquals(0, r.code(), r::toString);
      assertTrue(r.out().contains("\"phase\":\"verifying\""), r::toString);

      // The partition's bytes are the image's, and the whole disk verifies against the index.
      try (RandomAccessFile a = new RandomAccessFile(disk.toFile(), "r");
          RandomAccessFile b = new RandomAccessFile(t.path().toFile(), "r")) {
        byte[] x = new byte[(int) MIB];
        byte[] y = new byte[(int) MIB];
        for (long at = MIB; at < 319 * MIB; at += MIB) {
          a.seek(at);
          a.readFully(x);
          b.seek(at);
          b.readFully(y);
          assertTrue(java.util.Arrays.equals(x, y), "bytes at " + at);
        }
      }
      String sg = Cmd.run("sgdisk", "-v", t.path().toString());
      assertTrue(sg.contains("No problems found"), sg);
      CliRun.Result v =
          CliRun.run("verify", "--source", image.toString(), "--target", t.path().toString());
      assertEquals(0, v.code(), v::toString);

      // A byte changed in the middle (a stretch read back while writing) is found.
      try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
        long at = 100 * MIB + 12345;
        f.seek(at);
        int old = f.read();
        f.seek(at);
        f.write(~old & 0xff);
      }
      Files.write(Path.of("/proc/sys/vm/drop_caches"), "3\n".getBytes());
      CliRun.Result bad =
          CliRun.run("verify", "--source", image.toString(), "--target", t.path().toString());
      assertEquals(3, bad.code(), bad::toString);
    }
  }
}
