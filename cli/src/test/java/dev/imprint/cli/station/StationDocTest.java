package dev.imprint.cli.station;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.actors.station.SlotState;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.engine.audit.AuditRecord;
import dev.imprint.engine.discovery.Drive;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Holds the station's JSON lines and audit records to docs/STATION.md. */
class StationDocTest {
  private static final Path DOC = Path.of("../docs/STATION.md");

  /** The text of the section under {@code heading}, up to the next heading of any level. */
  private static String section(String doc, String heading) {
    int i = doc.indexOf("\n" + heading + "\n");
    assertTrue(i >= 0, "docs/STATION.md has no section " + heading);
    int j = doc.indexOf("\n#", i + heading.length() + 2);
    return doc.substring(i, j < 0 ? doc.length() : j);
  }

  /** Every back-quoted word in the first column of the section's tables. */
  private static Set<String> tableFields(String section) {
    Set<String> out = new LinkedHashSet<>();
    Matcher row = Pattern.compile("(?m)^\\| ([^|]+) \\|").matcher(section);
    while (row.find()) {
      Matcher f = Pattern.compile("`([A-Za-z]+)`").matcher(row.group(1));
      while (f.find()) {
        out.add(f.group(1));
      }
    }
    return out;
  }

  @Test
  void everyAuditFieldIsDocumentedAndNothingElse() throws Exception {
    String doc = Files.readString(DOC);
    AuditRecord r =
        new AuditRecord(
            "start", "j", "", "", "", "", "", "", "", "", "", "", false, 0, "", "", List.of(), 0,
            "", -1, 0, "", "", "");
    assertEquals(r.fields().keySet(), tableFields(section(doc, "## Audit log")));
  }

  @Test
  void everyJsonLineFieldIsDocumented() throws Exception {
    String doc = Files.readString(DOC);
    Drive d =
        new Drive(
            "sdc",
            Path.of("/dev/sdc"),
            "8:32",
            "pci-0000:00:14.0-usb-1-1",
            "usb",
            "V",
            "M",
            "S",
            "drive",
            "",
            1,
            true,
            false,
            "",
            false);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StationJson json = new StationJson(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    json.event(new StationEvent.Watching(1));
    json.event(new StationEvent.SlotChanged("s", "A1", d, SlotState.WRITING, "", -1));
    json.event(new StationEvent.SlotProgress("s", SlotState.WRITING, 1, 2, 3));
    json.event(new StationEvent.SlotLearned("s", "A1"));
    json.event(new StationEvent.Warning("w"));
    json.event(new StationEvent.Draining("why"));
    json.finished(true, "m", 0);
    for (String line : bytes.toString(StandardCharsets.UTF_8).split("\n")) {
      assertTrue(line.startsWith("{\"schema\":1,\"event\":\""), line);
      String event = line.replaceAll("^\\{\"schema\":1,\"event\":\"([a-z]+)\".*", "$1");
      String sec = section(doc, "### `" + event + "`");
      Matcher key = Pattern.compile("\"([A-Za-z]+)\":").matcher(line);
      while (key.find()) {
        String k = key.group(1);
        if (!k.equals("schema") && !k.equals("event")) {
          assertTrue(
              sec.contains("`" + k + "`"), "field " + k + " of " + event + " is not documented");
        }
      }
    }
  }
}
