package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import dev.imprint.engine.testing.Unprivileged;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code imprint batch}: a jobs file run side by side, one failing job among good ones, the worst
 * exit code, every mistake in the file refused before anything is written, and dry runs that write
 * nothing. The loop-device tests need root.
 */
class BatchCommandTest {
  static final long MIB = 1 << 20;

  /** 12 MiB of random data in 4 MiB chunks, and the image of it. */
  @TempDir static Path shared;

  static Path raw;
  static Path image;

  @TempDir Path dir;
  final Cleanup cleanup = new Cleanup();

  @BeforeAll
  static void build() throws IOException {
    raw = TestData.randomFile(shared.resolve("disk.raw"), 12 * MIB, 21);
    image = shared.resolve("disk.imprint");
    CliRun.Result c =
        CliRun.run("create", "--source", raw.toString(), "--output", image.toString());
    assertEquals(0, c.code(), c::toString);
  }

  @AfterEach
  void clean() {
    cleanup.run(dir);
  }

  private Path jobs(String text) throws IOException {
    Path f = dir.resolve("jobs.conf");
    Files.writeString(f, text);
    return f;
  }

  private LoopDevice loop(String name, long size) throws IOException {
    Path f = TestData.randomFile(dir.resolve(name), size, size + name.hashCode());
    LoopDevice d = LoopDevice.attach(f);
    cleanup.add(d);
    return d;
  }

  private static byte[] bytes(Path device, long length) throws IOException {
    try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate((int) length);
      while (b.hasRemaining() && ch.read(b, b.position()) > 0) {}
      return b.array();
    }
  }

  private static Path damagedCopy(Path dir) throws IOException {
    Path bad = dir.resolve("damaged.imprint");
    Files.copy(image, bad);
    IndexEntry data;
    try (Image i = Image.open(FileDisk.open(bad))) {
      data =
          i.metadata().index().stream()
              .filter(e -> e.kind() == RangeKind.DATA && e.logicalOffset() > 0)
              .findFirst()
              .orElseThrow();
    }
    try (FileChannel ch =
        FileChannel.open(bad, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, data.payloadOffset() + 10);
      b.put(0, (byte) (b.get(0) ^ 0xFF)).rewind();
      ch.write(b, data.payloadOffset() + 10);
    }
    return bad;
  }

  // ------------------------------------------------------------------ real restores (root)

  @Test
  void threeJobsOneTooSmallTheOthersRestoredAndVerified() throws Exception {
    Root.assumeRoot();
    LoopDevice a1 = loop("a1", 12 * MIB);
    LoopDevice a2 = loop("a2", 12 * MIB);
    LoopDevice b = loop("b", 12 * MIB);
    LoopDevice small = loop("small", 8 * MIB);
    byte[] smallBefore = bytes(small.path(), 8 * MIB);
    Path f =
        jobs(
            """
            defaults { verify = true }
            jobs = [
              { name = two-disks, source = disk.imprint, targets = [%s, %s], erase = true }
              { name = one-disk, source = "%s", targets = %s, erase = true, new-ids = true }
              { name = too-small, source = "%s", targets = [%s], erase = true }
            ]
            """
                .formatted(a1.path(), a2.path(), raw, b.path(), image, small.path()));
    Files.copy(image, dir.resolve("disk.imprint"));
    CliRun.Result r = CliRun.run("batch", f.toString(), "--parallel", "2", "--noprompt");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    byte[] want = Files.readAllBytes(raw);
    for (LoopDevice d : List.of(a1, a2, b)) {
      assertArrayEquals(want, bytes(d.path(), 12 * MIB), d.toString());
      assertTrue(r.out().contains(d.path() + ": verifying"), r::toString);
      assertTrue(r.out().contains(d.path() + ": done"), r::toString);
    }
    assertArrayEquals(smallBefore, bytes(small.path(), 8 * MIB), "the refused target is untouched");
    assertTrue(
        r.out().lines().anyMatch(l -> l.matches("two-disks\\s+succeeded\\s+0\\s.*")), r::toString);
    assertTrue(
        r.out().lines().anyMatch(l -> l.matches("one-disk\\s+succeeded\\s+0\\s.*")), r::toString);
    assertTrue(
        r.out().lines().anyMatch(l -> l.matches("too-small\\s+refused\\s+2\\s.*smaller.*")),
        r::toString);
    assertTrue(r.out().contains("Batch finished: 2 of 3 jobs succeeded (exit 2)."), r::toString);
    // new-ids on a disk without a table or a filesystem it knows: said, and nothing else changed.
    assertTrue(r.out().contains("one-disk: New ids for " + b.path() + ": volume"), r::toString);
  }

  @Test
  void theSameDiskInTwoJobsIsRefusedBeforeAnything() throws Exception {
    Root.assumeRoot();
    LoopDevice d = loop("d", 12 * MIB);
    byte[] before = bytes(d.path(), 12 * MIB);
    Path f =
        jobs(
            """
            jobs = [
              { name = first, source = "%s", targets = ["%s"], erase = true }
              { name = second, source = "%s", targets = ["%s"], erase = true }
            ]
            """
                .formatted(image, d.path(), image, d.backingFile()));
    CliRun.Result r = CliRun.run("batch", f.toString(), "--noprompt");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertEquals(1, r.err().lines().count(), r::toString);
    assertTrue(r.err().contains("jobs 'first' and 'second'"), r::toString);
    assertArrayEquals(before, bytes(d.path(), 12 * MIB));
  }

  @Test
  void aDryRunChecksEveryJobAndWritesNothing() throws Exception {
    Root.assumeRoot();
    LoopDevice good = loop("good", 16 * MIB);
    LoopDevice small = loop("small", 8 * MIB);
    byte[] g = bytes(good.path(), 16 * MIB);
    byte[] s = bytes(small.path(), 8 * MIB);
    Path f =
        jobs(
            """
            jobs = [
              { name = fits, source = "%s", targets = ["%s", new.img], erase = true, new-ids = true }
              { name = small, source = "%s", targets = ["%s"], erase = true }
            ]
            """
                .formatted(image, good.path(), image, small.path()));
    for (boolean json : new boolean[] {false, true}) {
      CliRun.Result r =
          json
              ? CliRun.run("batch", f.toString(), "--dry-run", "--json")
              : CliRun.run("batch", f.toString(), "--dry-run");
      assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
      if (json) {
        assertTrue(
            r.out().contains("\"job\":\"fits\",\"event\":\"dryRun\",\"ok\":true"), r::toString);
        assertTrue(
            r.out().contains("\"job\":\"small\",\"event\":\"dryRun\",\"ok\":false"), r::toString);
      } else {
        assertTrue(
            r.out()
                .contains(
                    "fits: would restore "
                        + image
                        + " (12.6 MB, needs 12.6 MB) onto "
                        + good.path()),
            r::toString);
        assertTrue(r.out().contains("new file"), r::toString);
        assertTrue(
            r.out().contains("small: would be refused: target " + small.path()), r::toString);
        assertTrue(
            r.out().contains("Dry run: 1 of 2 jobs would run; nothing was written."), r::toString);
      }
    }
    assertArrayEquals(g, bytes(good.path(), 16 * MIB));
    assertArrayEquals(s, bytes(small.path(), 8 * MIB));
    assertFalse(Files.exists(dir.resolve("new.img")));
  }

  // ------------------------------------------------------------------ file targets (no root)

  /** The worst code wins: a damaged image (4) outranks a refused job (2); JSON tags each job. */
  @Test
  void theWorstExitCodeWinsAndJsonNamesEachJob() throws Exception {
    Path bad = damagedCopy(dir);
    Path f =
        jobs(
            """
            jobs = [
              { name = good, source = "%s", targets = [good.img], erase = true }
              { name = damaged, source = "%s", targets = [damaged.img], erase = true }
              { name = nowhere, source = "%s", targets = [missing/dir/t.img], erase = true }
            ]
            """
                .formatted(image, bad, image));
    CliRun.Result r = CliRun.run("batch", f.toString(), "--noprompt", "--json", "--parallel", "3");
    assertEquals(ExitCode.DAMAGED, r.code(), r::toString);
    assertArrayEquals(Files.readAllBytes(raw), Files.readAllBytes(dir.resolve("good.img")));
    assertTrue(
        r.out().contains("\"job\":\"good\",\"event\":\"jobEnded\",\"status\":\"succeeded\""),
        r::toString);
    assertTrue(
        r.out().contains("\"job\":\"damaged\",\"event\":\"jobEnded\",\"status\":\"damaged\""),
        r::toString);
    assertTrue(
        r.out().contains("\"job\":\"nowhere\",\"event\":\"jobEnded\",\"status\":\"refused\""),
        r::toString);
    assertTrue(r.out().contains("\"event\":\"batch\""), r::toString);
    String last = r.out().lines().reduce((x, y) -> y).orElseThrow();
    assertTrue(last.contains("\"event\":\"finished\",\"ok\":false"), last);
    assertTrue(last.endsWith("\"exitCode\":4}"), last);
    r.out().lines().forEach(l -> assertTrue(l.startsWith("{\"schema\":1,"), l));
  }

  /**
   * Ctrl-C mid-batch, to a real process: the running job is cancelled (its target not looking
   * valid), the job waiting for a slot never starts, and the batch exits 130.
   */
  @Test
  void sigintCancelsTheRunningJobAndStartsNoOther() throws Exception {
    Root.assumeCommands("kill", "mkfifo");
    Path fifo = dir.resolve("source.fifo");
    dev.imprint.engine.testing.Cmd.run("mkfifo", fifo.toString());
    Path f =
        jobs(
            """
            jobs = [
              { name = slow, source = source.fifo, targets = [slow.img], erase = true }
              { name = later, source = "%s", targets = [later.img], erase = true }
            ]
            """
                .formatted(image));
    Path out = dir.resolve("out.txt");
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "batch",
                f.toString(),
                "--parallel",
                "1",
                "--noprompt")
            .redirectOutput(out.toFile())
            .redirectError(dir.resolve("err.txt").toFile())
            .start();
    Thread feeder =
        new Thread(
            () -> {
              // A disk that never ends: 16 MiB, then the pipe stays open until the process ends.
              try (var w = Files.newOutputStream(fifo)) {
                w.write(TestData.random(16 * MIB, 3));
                w.flush();
                p.waitFor();
              } catch (IOException | InterruptedException e) {
                // the process is gone
              }
            });
    feeder.setDaemon(true);
    feeder.start();
    try {
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
      while (!Files.readString(out).contains("slow.img: writing")) {
        assertTrue(p.isAlive(), () -> "imprint ended early: " + output(out));
        assertTrue(System.nanoTime() < deadline, () -> "not writing in 60 s: " + output(out));
        Thread.sleep(20);
      }
      new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "no exit after SIGINT");
      assertEquals(ExitCode.INTERRUPTED, p.exitValue(), () -> output(out));
      String text = Files.readString(out);
      assertTrue(text.lines().anyMatch(l -> l.matches("slow\\s+cancelled\\s+130\\s.*")), text);
      assertTrue(
          text.lines().anyMatch(l -> l.matches("later\\s+cancelled\\s+130\\s.*not started.*")),
          text);
      assertFalse(Files.exists(dir.resolve("later.img")), "the waiting job never started");
      byte[] head = bytes(dir.resolve("slow.img"), MIB);
      assertArrayEquals(new byte[(int) MIB], head, "the cancelled target does not look valid");
    } finally {
      p.destroyForcibly();
    }
  }

  private String output(Path out) {
    try {
      return Files.readString(out) + "--- stderr ---\n" + Files.readString(dir.resolve("err.txt"));
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Test
  void withoutATerminalOrNopromptNothingStarts() throws Exception {
    Path f =
        jobs("jobs = [ { source = \"%s\", targets = [t.img], erase = true } ]".formatted(image));
    CliRun.Result r = CliRun.run("batch", f.toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("add --noprompt"), r::toString);
    assertFalse(Files.exists(dir.resolve("t.img")));
  }

  /** A mistake in the file, the job it names, and the key the error line must name. */
  /** A dry run says what the job itself would refuse: new ids an ordinary user cannot give. */
  @Test
  void aDryRunRefusesNewIdsItsJobWouldRefuse() throws Exception {
    Root.assumeCommands("mkfs.ext4");
    Path fs = dir.resolve("ext4.raw");
    TestData.setLength(fs, 16 * MIB);
    Cmd.run("mkfs.ext4", "-q", "-F", fs.toString());
    Path img = dir.resolve("ext4.imprint");
    CliRun.Result c = CliRun.run("create", "--source", fs.toString(), "--output", img.toString());
    assertEquals(0, c.code(), c::toString);
    Path f =
        jobs(
            String.format(
                "jobs = [ { name = ids, source = \"%s\", targets = [t.img], erase = true,"
                    + " new-ids = true } ]",
                img));
    Unprivileged.openToAll(dir);
    Cmd.Result r = Unprivileged.run(Main.class, "batch", f.toString(), "--dry-run");
    assertEquals(ExitCode.BAD_INPUT, r.exitCode(), r::toString);
    assertTrue(r.stdout().contains("would be refused: --new-ids needs root"), r::toString);
    assertFalse(Files.exists(dir.resolve("t.img")));
  }

  record Bad(String job, String key, String file) {
    @Override
    public String toString() {
      return key;
    }
  }

  static Stream<Bad> badFiles() {
    String ok = "source = \"IMAGE\", targets = [t.img], erase = true";
    return Stream.of(
        new Bad("?", "syntax", "jobs = [ { source = "),
        new Bad("?", "jobs", "defaults { verify = true }"),
        new Bad("?", "jobz", "jobz = []"),
        new Bad("?", "defaults", "defaults = 3\njobs = [ { " + ok + " } ]"),
        new Bad("a", "unknown key 'verfy'", "jobs = [ { name = a, " + ok + ", verfy = false } ]"),
        new Bad("a", "source: missing", "jobs = [ { name = a, targets = [t.img], erase = true } ]"),
        new Bad(
            "a",
            "source:",
            "jobs = [ { name = a, source = nothing.imprint, targets = [t.img], erase = true } ]"),
        new Bad(
            "a",
            "source:",
            "jobs = [ { name = a, source = \"-\", targets = [t.img], erase = true } ]"),
        new Bad(
            "a", "targets: missing", "jobs = [ { name = a, source = \"IMAGE\", erase = true } ]"),
        new Bad(
            "a",
            "targets: empty",
            "jobs = [ { name = a, source = \"IMAGE\", targets = [], erase = true } ]"),
        new Bad(
            "a",
            "targets:",
            "jobs = [ { name = a, source = \"IMAGE\", targets = [1, 2], erase = true } ]"),
        new Bad(
            "a",
            "erase: missing",
            "jobs = [ { name = a, source = \"IMAGE\", targets = [t.img] } ]"),
        new Bad(
            "a",
            "erase: false",
            "jobs = [ { name = a, source = \"IMAGE\", targets = [t.img], erase = false } ]"),
        new Bad("a", "verify:", "jobs = [ { name = a, " + ok + ", verify = sometimes } ]"),
        new Bad("a", "trust:", "jobs = [ { name = a, " + ok + ", trust = [missing.pub] } ]"),
        new Bad("a", "source-volume:", "jobs = [ { name = a, " + ok + ", source-volume = 0 } ]"),
        new Bad("a", "remount:", "jobs = [ { name = a, " + ok + ", remount = later } ]"),
        new Bad("a", "new-ids:", "jobs = [ { name = a, " + ok + ", new-ids = [] } ]"),
        // New ids go only onto verified targets.
        new Bad(
            "a", "new-ids:", "jobs = [ { name = a, " + ok + ", new-ids = true, verify = false } ]"),
        // "here" is a symbolic link to the jobs file's directory: here/t.img is t.img.
        new Bad(
            "'a' and 'b'",
            "the same disk",
            "jobs = [ { name = a, "
                + ok
                + " }, { name = b, "
                + ok.replace("t.img", "here/t.img")
                + " } ]"),
        new Bad(
            "a",
            "name:",
            "jobs = [ { name = a, "
                + ok
                + " }, { name = a, "
                + ok.replace("t.img", "u.img")
                + " } ]"),
        new Bad("defaults", "unknown key 'x'", "defaults { x = 1 }\njobs = [ { " + ok + " } ]"),
        new Bad(
            "'a' and 'b'",
            "the same disk",
            "jobs = [ { name = a, " + ok + " }, { name = b, " + ok + " } ]"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badFiles")
  void aBadJobsFileIsOneLineNamingTheJobAndKeyAndNothingIsWritten(Bad bad) throws Exception {
    Files.createSymbolicLink(dir.resolve("here"), dir);
    Path f = jobs(bad.file().replace("IMAGE", image.toString()));
    CliRun.Result r = CliRun.run("batch", f.toString(), "--noprompt");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertEquals(1, r.err().lines().count(), r::toString);
    assertTrue(r.err().startsWith("imprint: "), r::toString);
    assertTrue(r.err().contains(bad.key()), r::toString);
    if (!bad.job().equals("?")) {
      assertTrue(r.err().contains(bad.job()), r::toString);
    }
    assertFalse(r.err().contains("Exception"), r::toString);
    assertEquals("", r.out(), r::toString);
    assertFalse(Files.exists(dir.resolve("t.img")));
    assertFalse(Files.exists(dir.resolve("u.img")));
  }
}
