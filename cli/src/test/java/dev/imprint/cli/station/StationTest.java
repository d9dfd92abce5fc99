package dev.imprint.cli.station;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.cli.CliRun;
import dev.imprint.cli.ExitCode;
import dev.imprint.engine.audit.AuditLog;
import dev.imprint.engine.audit.AuditRecord;
import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.RangeServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import dev.imprint.engine.testing.TestData;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The station with real loop devices, attached while it runs. Other builds attach loop devices on
 * this machine at the same time, so every run matches only backing files under this test's own
 * directory ({@code --match backing=DIR/*}): nothing else is ever written.
 */
class StationTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;
  private final Cleanup cleanup = new Cleanup();
  private Path source;

  @BeforeEach
  void source() throws Exception {
    // A raw disk: 6 MiB of data, then zeros to 16 MiB.
    source = dir.resolve("golden.img");
    TestData.randomFile(source, 6 * MIB, 42);
    TestData.setLength(source, 16 * MIB);
  }

  @AfterEach
  void clean() {
    cleanup.run(dir);
  }

  private Path disk(String name, long size) throws Exception {
    Path f = dir.resolve(name);
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.setLength(size);
    }
    return f;
  }

  private LoopDevice attach(Path file) {
    LoopDevice l = LoopDevice.attach(file);
    cleanup.add(l);
    return l;
  }

  /** Whether {@code target} starts with the source's bytes. */
  private boolean holdsImage(Path target) throws Exception {
    return TestData.sha256(target, 0, 16 * MIB).equals(TestData.sha256(source, 0, 16 * MIB));
  }

  @Test
  void drivesAttachedWhileItRunsGetTheImageThroughUevents() throws Exception {
    Root.assumeRoot();
    Path image = dir.resolve("golden.imprint");
    CliRun.Result created =
        CliRun.run("create", "--source", source.toString(), "--output", image.toString());
    assertEquals(0, created.code(), created::toString);
    Path audit = dir.resolve("state/audit.jsonl");
    Path a = disk("a.img", 64 * MIB);
    Path b = disk("b.img", 64 * MIB);
    try (StationProcess s =
        StationProcess.erasing(dir, image, audit, "--probe-capacity", "always", "--once", "2")) {
      LoopDevice la = attach(a);
      LoopDevice lb = attach(b);
      s.awaitState(la.path(), "done", 120);
      s.awaitState(lb.path(), "done", 120);
      assertEquals(ExitCode.OK, s.exit(60), s::output);
      assertTrue(s.output().contains("\"state\":\"writing\""), s::output);
    }
    assertTrue(holdsImage(a) && holdsImage(b));
    List<AuditRecord> records = AuditLog.read(audit);
    assertEquals(4, records.size(), records::toString);
    assertEquals(2, records.stream().filter(r -> r.event().equals("start")).count());
    for (AuditRecord r : records.stream().filter(r -> r.event().equals("end")).toList()) {
      assertEquals("done", r.result(), r::toString);
      assertEquals("passed", r.verify());
      assertEquals(64L * MIB, r.capacity());
      assertTrue(r.bytesWritten() >= 6 * MIB, r::toString);
      assertTrue(r.digest().startsWith("sha256:"), r::toString);
      assertTrue(r.device().startsWith("/dev/loop"), r::toString);
    }
    CliRun.Result csv = CliRun.run("audit", audit.toString(), "--csv");
    assertEquals(0, csv.code(), csv::toString);
    assertEquals(3, csv.out().split("\r\n").length, csv::toString);
  }

  @Test
  void rescanningFindsThemWithUeventsOff() throws Exception {
    Root.assumeRoot();
    Path a = disk("a.img", 32 * MIB);
    try (StationProcess s =
        StationProcess.erasing(
            dir, source, dir.resolve("audit.jsonl"), "--no-uevents", "--once", "1", "--eject")) {
      LoopDevice la = attach(a);
      String done = s.awaitState(la.path(), "done", 120);
      assertTrue(done.contains("not ejected: a loop device cannot be powered down"), done);
      assertEquals(ExitCode.OK, s.exit(60), s::output);
    }
    assertTrue(holdsImage(a));
  }

  @Test
  void unsafeOrUnwantedDrivesAreIgnoredWithTheirReasonAndLeftAlone() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mkfs.ext4", "mount");
    Path mounted = disk("mounted.img", 32 * MIB);
    Cmd.run("mkfs.ext4", "-q", "-F", mounted.toString());
    Path small = TestData.randomFile(dir.resolve("small.img"), 8 * MIB, 1);
    Path large = TestData.randomFile(dir.resolve("large.img"), 80 * MIB, 2);
    Path kept = TestData.randomFile(dir.resolve("keep-me.img"), 32 * MIB, 3);
    LoopDevice lm = attach(mounted);
    cleanup.add(TempMount.mount(lm.path(), "ro"));
    LoopDevice ls = attach(small);
    LoopDevice ll = attach(large);
    LoopDevice lk = attach(kept);
    List<Path> untouched = List.of(mounted, small, large, kept);
    List<String> before = untouched.stream().map(StationTest::hash).toList();
    Path good = disk("good.img", 32 * MIB);
    try (StationProcess s =
        StationProcess.erasing(
            dir,
            source,
            dir.resolve("audit.jsonl"),
            "--include-present",
            "--exclude",
            "backing=*keep-me*",
            "--max-size",
            "64M",
            "--once",
            "1")) {
      assertTrue(s.awaitState(lm.path(), "ignored", 60).contains("\"detail\":\"mounted: "));
      assertTrue(s.awaitState(ls.path(), "ignored", 60).contains("too small: 8.4 MB"));
      assertTrue(s.awaitState(ll.path(), "ignored", 60).contains("too large: 83.9 MB"));
      assertTrue(
          s.awaitState(lk.path(), "ignored", 60)
              .contains("excluded by --exclude backing=*keep-me*"));
      LoopDevice lg = attach(good);
      s.awaitState(lg.path(), "done", 120);
      assertEquals(ExitCode.OK, s.exit(60), s::output);
    }
    assertEquals(before, untouched.stream().map(StationTest::hash).toList());
    assertTrue(holdsImage(good));
  }

  @Test
  void aFullDiskFailsAloneWhileTheOtherDriveSucceeds() throws Exception {
    Root.assumeRoot();
    Path tiny = Files.createDirectories(dir.resolve("tiny"));
    Cmd.run("mount", "-t", "tmpfs", "-o", "size=3m", "imprint-station-full", tiny.toString());
    cleanup.add(() -> Cmd.run("umount", "-l", tiny.toString()));
    Path full = disk("tiny/full.img", 64 * MIB); // sparse: only 3 MiB of it can ever be stored
    Path fine = disk("fine.img", 64 * MIB);
    Path audit = dir.resolve("audit.jsonl");
    try (StationProcess s =
        StationProcess.erasing(dir, source, audit, "--probe-capacity", "never", "--once", "2")) {
      LoopDevice lf = attach(full);
      LoopDevice lo = attach(fine);
      String failed = s.awaitState(lf.path(), "failed", 120);
      s.awaitState(lo.path(), "done", 120);
      assertEquals(ExitCode.TARGETS_FAILED, s.exit(60), s::output);
      assertTrue(failed.contains("\"detail\":\""), failed);
    }
    assertTrue(holdsImage(fine));
    List<AuditRecord> ends =
        AuditLog.read(audit).stream().filter(r -> r.event().equals("end")).toList();
    assertEquals(2, ends.size());
    assertEquals(1, ends.stream().filter(r -> r.result().equals("failed")).count());
    assertTrue(
        ends.stream().filter(r -> r.result().equals("failed")).allMatch(r -> !r.error().isEmpty()));
  }

  @Test
  void aSourceThatCanBeReadOnlyOnceIsRefused() throws Exception {
    CliRun.Result r = CliRun.run("station", "--source", "-", "--erase");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("standard input can be read only once"), r::toString);
    Path fifo = dir.resolve("fifo");
    Root.assumeCommands("mkfifo");
    Cmd.run("mkfifo", fifo.toString());
    r = CliRun.run("station", "--source", fifo.toString(), "--erase");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("can be read only once (a pipe)"), r::toString);
  }

  @Test
  void badRulesAreOneLine() {
    CliRun.Result r = CliRun.run("station", "--source", source.toString(), "--match", "colour=red");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().startsWith("imprint: 'colour=red' is not a condition"), r::toString);
    assertTrue(r.err().lines().count() == 1, r::toString);
  }

  @Test
  void aKillLeavesEveryCompletedRecordIntact() throws Exception {
    Root.assumeRoot();
    Path audit = dir.resolve("audit.jsonl");
    Path a = disk("a.img", 32 * MIB);
    Path b = disk("b.img", 32 * MIB);
    Path c = disk("c.img", 32 * MIB);
    try (StationProcess s = StationProcess.erasing(dir, source, audit)) {
      LoopDevice la = attach(a);
      LoopDevice lb = attach(b);
      s.awaitState(la.path(), "done", 120);
      s.awaitState(lb.path(), "done", 120);
      LoopDevice lc = attach(c);
      s.awaitState(lc.path(), "erasing", 120); // its start record is on disk by now
      Cmd.run("kill", "-9", Long.toString(s.pid()));
      s.exit(30);
    }
    List<String> lines = Files.readAllLines(audit, StandardCharsets.UTF_8);
    List<AuditRecord> records = AuditLog.read(audit);
    assertEquals(lines.size(), records.size(), "every line is a whole record");
    assertEquals(2, records.stream().filter(r -> r.result().equals("done")).count());
    assertEquals(3, records.stream().filter(r -> r.event().equals("start")).count());
    CliRun.Result csv = CliRun.run("audit", audit.toString(), "--csv");
    assertTrue(csv.out().contains(",incomplete,"), csv::toString);
  }

  @Test
  void learningLabelsEachNewPortInTurnAndWritesNothing() throws Exception {
    Root.assumeRoot();
    Path map = dir.resolve("slots.txt");
    Files.writeString(map, "A1 pci-0000:00:14.0-usb-1-1\n");
    Path a = disk("a.img", 32 * MIB);
    try (StationProcess s =
        StationProcess.start(
            dir, "--source", source.toString(), "--slot-map", map.toString(), "--learn-slots")) {
      LoopDevice la = attach(a);
      String name = la.path().getFileName().toString();
      String learned =
          s.await(
              l -> l.contains("\"event\":\"learned\"") && l.contains("\"slot\":\"" + name + "\""),
              60);
      Cmd.run("kill", "-TERM", Long.toString(s.pid()));
      assertEquals(ExitCode.OK, s.exit(60), s::output);
      String label = learned.replaceAll(".*\"label\":\"([^\"]+)\".*", "$1");
      assertTrue(Files.readAllLines(map).contains(label + " " + name), learned);
      assertTrue(!label.equals("A1"), "A1 was taken: " + learned);
    }
    assertEquals(
        TestData.sha256(dir.resolve("a.img")), TestData.sha256(disk("zero.img", 32 * MIB)));
  }

  /** The GPT disk GUID sgdisk reads from {@code disk}. */
  private static String diskGuid(Path disk) {
    return Cmd.run("sgdisk", "-p", disk.toString())
        .replaceAll("(?s).*Disk identifier \\(GUID\\): (\\S+).*", "$1")
        .trim();
  }

  @Test
  void newIdsGiveEachDriveItsOwnGuidsOnRecord() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("sgdisk", "mke2fs", "tune2fs", "e2fsck", "blkid");
    // A GPT disk with one ext4 partition (1 MiB to 17 MiB) in 24 MiB.
    Path golden = disk("gpt.img", 24 * MIB);
    Cmd.run("sgdisk", "-o", "-n1:2048:+16M", golden.toString());
    try (LoopDevice p = LoopDevice.attach(golden, MIB, 16 * MIB)) {
      Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", p.path().toString());
    }
    String originalGuid = diskGuid(golden);
    Path image = dir.resolve("gpt.imprint");
    CliRun.Result created =
        CliRun.run("create", "--source", golden.toString(), "--output", image.toString());
    assertEquals(0, created.code(), created::toString);
    Path audit = dir.resolve("audit.jsonl");
    Path a = disk("a.img", 32 * MIB);
    Path b = disk("b.img", 32 * MIB);
    String doneA;
    try (StationProcess s =
        StationProcess.erasing(
            dir, image, audit, "--probe-capacity", "never", "--once", "2", "--new-ids")) {
      LoopDevice la = attach(a);
      LoopDevice lb = attach(b);
      doneA = s.awaitState(la.path(), "done", 120);
      s.awaitState(lb.path(), "done", 120);
      assertEquals(ExitCode.OK, s.exit(60), s::output);
    }
    String guidA = diskGuid(a);
    String guidB = diskGuid(b);
    assertTrue(!guidA.equals(guidB), guidA);
    assertTrue(!guidA.equals(originalGuid) && !guidB.equals(originalGuid), originalGuid);
    assertTrue(doneA.contains("new ids: disk " + guidA), doneA);
    List<AuditRecord> ends =
        AuditLog.read(audit).stream().filter(r -> r.event().equals("end")).toList();
    assertEquals(2, ends.size(), ends::toString);
    assertEquals(
        java.util.Set.of(guidA, guidB),
        java.util.Set.copyOf(ends.stream().map(AuditRecord::newDiskId).toList()));
    for (AuditRecord r : ends) {
      assertEquals("done", r.result(), r::toString);
      assertEquals(1, r.newIds().size(), r::toString);
      String[] v = r.newIds().get(0).split(":", -1);
      assertEquals("1", v[0], r::toString);
      assertEquals("ext4", v[2], r::toString);
      assertTrue(!v[1].isEmpty() && !v[3].isEmpty(), r::toString);
      Path file = r.newDiskId().equals(guidA) ? a : b;
      try (LoopDevice p = LoopDevice.attach(file, MIB, 16 * MIB)) {
        String uuid =
            Cmd.run("blkid", "-p", "-o", "value", "-s", "UUID", p.path().toString()).trim();
        assertEquals(uuid, v[3], r::toString);
      }
    }
  }

  @Test
  void anHttpSourceTakesTheRemoteOptions() throws Exception {
    Root.assumeRoot();
    byte[] bytes = Files.readAllBytes(source);
    Path a = disk("a.img", 32 * MIB);
    try (RangeServer server = new RangeServer(bytes);
        StationProcess s =
            StationProcess.start(
                dir,
                "--source",
                server.uri("/golden.img").toString(),
                "--erase",
                "--match",
                "backing=" + dir.toAbsolutePath() + "/*",
                "--audit",
                dir.resolve("audit.jsonl").toString(),
                "--header",
                "X-Station: yes",
                "--connections",
                "2",
                "--retry-for",
                "20",
                "--once",
                "1")) {
      LoopDevice la = attach(a);
      s.awaitState(la.path(), "done", 120);
      assertEquals(ExitCode.OK, s.exit(60), s::output);
      assertTrue(server.getRanges().size() > 0, server.requests()::toString);
    }
    assertTrue(holdsImage(a));
  }

  @Test
  void httpOptionsWithAFileSourceAreOneLine() {
    CliRun.Result r =
        CliRun.run("station", "--source", source.toString(), "--header", "X-A: b", "--insecure");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(
        r.err().contains("--header, --insecure apply only to an http:// or https:// source"),
        r::toString);
  }

  private static String hash(Path p) {
    try {
      return TestData.sha256(p);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
