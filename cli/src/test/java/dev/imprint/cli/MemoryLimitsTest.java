package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.ImageWriter;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory stays bounded whatever the chunk size and the number of index entries: each restore runs
 * in a child JVM with small memory limits, where the code before the budget ran out of memory.
 */
class MemoryLimitsTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  @Test
  void sixtyFourMibChunksRestoreToThreeTargetsInSmallDirectMemory() throws Exception {
    // Four 64 MiB chunks of random bytes: with four read-backs of 64 MiB per target, three
    // targets needed 768 MiB of direct memory for verification alone.
    Path disk = TestData.randomFile(dir.resolve("disk.raw"), 256L * MIB, 64);
    Path img = dir.resolve("big-chunks.imprint");
    CliRun.Result made =
        CliRun.run(
            "create",
            "--source",
            disk.toString(),
            "--output",
            img.toString(),
            "--chunk-size",
            "64M",
            "--compress",
            "lz4");
    assertEquals(0, made.code(), made.toString());
    List<String> args =
        new ArrayList<>(List.of("restore", "--source", img.toString(), "-erase", "-noprompt"));
    List<Path> targets = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Path t = dir.resolve("target" + i + ".img");
      targets.add(t);
      args.add("--target");
      args.add(t.toString());
    }
    Child r = child(List.of("-Xmx256m", "-XX:MaxDirectMemorySize=640m"), args);
    assertEquals(0, r.code(), r.toString());
    String want = TestData.sha256(disk);
    for (Path t : targets) {
      assertEquals(want, TestData.sha256(t), t.toString());
    }
  }

  @Test
  void manyIndexEntriesFitASmallHeap() throws Exception {
    // 150 000 entries cost ~70 MB of heap when each was an object (~450 bytes); the heap is 32 MB.
    int entries = 150_000;
    Path img = manyEntries(dir.resolve("many.imprint"), entries);
    List<String> small = List.of("-Xmx32m", "-XX:MaxDirectMemorySize=256m");
    Child info = child(small, List.of("info", "--source", img.toString()));
    assertEquals(0, info.code(), info.toString());
    Child scan = child(small, List.of("imagescan", "--source", img.toString()));
    assertEquals(0, scan.code(), scan.toString());
    Path target = dir.resolve("many-target.img");
    Child restore =
        child(
            small,
            List.of(
                "restore",
                "--source",
                img.toString(),
                "--target",
                target.toString(),
                "-erase",
                "-noprompt"));
    assertEquals(0, restore.code(), restore.toString());
    assertTrue(restore.out().contains("Verifying"), restore.toString());
    // Through a pipe too: the records and the index are collected without an object per entry
    // (the read-back of its 4.9 GB of zero ranges was checked above; here the pipe is the point).
    Child pipe =
        child(
            small,
            List.of(
                "restore",
                "--source",
                "-",
                "--target",
                target.toString(),
                "-erase",
                "-noprompt",
                "-noverify"),
            img);
    assertEquals(0, pipe.code(), pipe.toString());
  }

  /**
   * An image of {@code n} entries that alternate between zero and unallocated runs (they cannot
   * merge), with a 64 KiB data chunk every 1001st entry.
   */
  private static Path manyEntries(Path p, int n) throws IOException, NoSuchAlgorithmException {
    int cs = 64 << 10; // the smallest chunk size the format allows
    long size = 0;
    for (int i = 0; i < n; i++) {
      size += length(i, cs);
    }
    ImageHeader h =
        new ImageHeader(
            ImageHeader.MAJOR,
            ImageHeader.MINOR,
            size,
            512,
            cs,
            ImageKind.VOLUME,
            Codec.NONE,
            PartitionScheme.NONE,
            Instant.ofEpochMilli(1_700_000_000_000L),
            "test",
            "many entries",
            List.of());
    byte[] data = TestData.random(cs, 7);
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(data);
    try (ImageWriter w = ImageWriter.create(p, h)) {
      long off = 0;
      for (int i = 0; i < n; i++) {
        long len = length(i, cs);
        if (i % 1001 == 0) {
          w.data(off, cs, Codec.NONE, sha, ByteBuffer.wrap(data));
        } else if (i % 2 == 0) {
          w.zero(off, len);
        } else {
          w.unallocated(off, len);
        }
        off += len;
      }
      w.finish(List.of(), null);
    }
    return p;
  }

  private static long length(int i, int cs) {
    return i % 1001 == 0 || i % 2 == 0 ? cs : 15L * cs;
  }

  private record Child(int code, String out) {
    @Override
    public String toString() {
      return "exit " + code + "\n" + out;
    }
  }

  private Child child(List<String> jvm, List<String> args) throws Exception {
    return child(jvm, args, null);
  }

  /** Runs imprint in a child JVM with the given JVM options (and stdin from a file). */
  private Child child(List<String> jvm, List<String> args, Path stdin) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    cmd.add("-cp");
    cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    cmd.add(Main.class.getName());
    cmd.addAll(args);
    Path log = Files.createTempFile(dir, "child", ".log");
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.redirectInput(
        stdin != null
            ? ProcessBuilder.Redirect.from(stdin.toFile())
            : ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    Process p = pb.start();
    // Out of memory, the old code could hang rather than exit.
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      // What it was doing, for the failure report: its threads and the end of its output.
      Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
      Process dump =
          new ProcessBuilder(jcmd.toString(), Long.toString(p.pid()), "Thread.print")
              .redirectErrorStream(true)
              .start();
      String threads = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      dump.waitFor(1, TimeUnit.MINUTES);
      p.destroyForcibly();
      String out = Files.readString(log, StandardCharsets.UTF_8);
      throw new AssertionError(
          "imprint "
              + args
              + " did not finish in 5 minutes\n"
              + out.substring(Math.max(0, out.length() - 4000))
              + "\n"
              + threads);
    }
    return new Child(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }
}
