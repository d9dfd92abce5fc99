package dev.imprint.engine.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
  @TempDir Path tmp;

  static AuditRecord start(String job, String serial) {
    return new AuditRecord(
        "start",
        job,
        "2026-11-30T20:00:00Z",
        "",
        "station1",
        "A1",
        "pci-0000:00:14.0-usb-1-1",
        "/dev/sdc",
        "SanDisk",
        "Ultra \"Fit\", 3.1",
        serial,
        "drive",
        false,
        16_000_000_000L,
        "golden.imprint",
        "sha256:ab",
        List.of("SHA256:xyz"),
        0,
        "",
        -1,
        0,
        "started",
        "",
        "0.1.0");
  }

  @Test
  void recordsRoundTripAndSerialsSeenAgainAreRepeats() throws Exception {
    Path f = tmp.resolve("state/audit.jsonl");
    try (AuditLog log = AuditLog.open(f)) {
      AuditRecord a = log.started(start("j1", "S1"));
      assertFalse(a.repeat());
      log.ended(a.ended("2026-11-30T20:01:00Z", 5000, "passed", -1, 100, "done", ""));
    }
    try (AuditLog log = AuditLog.open(f)) {
      AuditRecord b = log.started(start("j2", "S1"));
      assertTrue(b.repeat(), "the serial was seen in an earlier run of the station");
      log.ended(
          b.ended(
              "2026-11-30T20:02:00Z",
              10,
              "failed",
              4096,
              1,
              "failed",
              "verification failed at byte 4096"));
    }
    List<AuditRecord> all = AuditLog.read(f);
    assertEquals(4, all.size());
    assertEquals("Ultra \"Fit\", 3.1", all.get(0).model());
    assertEquals(List.of("SHA256:xyz"), all.get(1).signers());
    assertEquals(4096, all.get(3).firstBadOffset());
  }

  @Test
  void aLineCutShortByAPowerCutIsSkippedAndTheNextRecordStartsFresh() throws Exception {
    Path f = tmp.resolve("audit.jsonl");
    try (AuditLog log = AuditLog.open(f)) {
      log.started(start("j1", "S1"));
    }
    String whole = start("j2", "S2").toJson();
    Files.writeString(f, whole.substring(0, 40), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    try (AuditLog log = AuditLog.open(f)) {
      log.started(start("j3", "S3"));
    }
    List<AuditRecord> all = AuditLog.read(f);
    assertEquals(List.of("j1", "j3"), all.stream().map(AuditRecord::job).toList());
  }

  @Test
  void csvHasOneRowPerJob() throws Exception {
    AuditRecord a = start("j1", "S1");
    AuditRecord b = start("j2", "S2");
    String csv = AuditLog.csv(List.of(a, b, a.ended("t", 1, "passed", -1, 1, "done", "")));
    String[] lines = csv.split("\r\n");
    assertEquals(3, lines.length);
    assertTrue(lines[0].startsWith("job,startTime,endTime,host,slot,"), lines[0]);
    assertTrue(lines[1].startsWith("j1,") && lines[1].contains(",done,"), lines[1]);
    assertTrue(lines[2].contains(",incomplete,"), lines[2]);
    assertTrue(lines[1].contains("\"Ultra \"\"Fit\"\", 3.1\""), lines[1]);
  }
}
