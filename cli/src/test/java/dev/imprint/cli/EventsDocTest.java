package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.TargetState;
import dev.imprint.cli.output.JsonDisplay;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Holds {@code --json} to docs/EVENTS.md: every line carries the schema version, every event and
 * field it prints is documented, every required field is there, and every documented event shows up
 * in real runs of restore and create.
 */
class EventsDocTest {
  private static final Path DOC = Path.of("../docs/EVENTS.md");

  @TempDir Path dir;

  /** An event's documented fields: all of them, the required ones, and list entries' fields. */
  private record Doc(Set<String> fields, Set<String> required, Map<String, Set<String>> nested) {}

  private static Map<String, Doc> documented() throws IOException {
    Map<String, Doc> events = new LinkedHashMap<>();
    String current = null;
    Pattern row = Pattern.compile("^\\| `(\\w+)` \\| (\\w+) \\| (.*) \\|$");
    for (String line : Files.readAllLines(DOC)) {
      Matcher h = Pattern.compile("^### `(\\w+)`").matcher(line);
      if (h.find()) {
        current = h.group(1);
        events.put(current, new Doc(new TreeSet<>(), new TreeSet<>(), new LinkedHashMap<>()));
        continue;
      }
      Matcher r = row.matcher(line);
      if (current != null && r.find()) {
        Doc d = events.get(current);
        d.fields().add(r.group(1));
        if (!r.group(3).contains("*optional*")) {
          d.required().add(r.group(1));
        }
        if (r.group(2).equals("list") && r.group(3).contains("one object per target:")) {
          Set<String> inner = new TreeSet<>();
          Matcher n = Pattern.compile("`(\\w+)`").matcher(r.group(3));
          while (n.find()) {
            inner.add(n.group(1));
          }
          d.nested().put(r.group(1), inner);
        }
      }
    }
    return events;
  }

  private static List<String> states() throws IOException {
    List<String> out = new ArrayList<>();
    boolean in = false;
    for (String line : Files.readAllLines(DOC)) {
      if (line.startsWith("## Target states")) {
        in = true;
      } else if (line.startsWith("## ")) {
        in = false;
      }
      Matcher m = Pattern.compile("^\\| `(\\w+)` \\|").matcher(line);
      if (in && m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  @Test
  void theTargetStatesAreTheDocumentedOnes() throws IOException {
    assertEquals(states(), Arrays.stream(TargetState.values()).map(TargetState::wireName).toList());
  }

  @Test
  void everyEventPrintedIsDocumentedFieldByField() throws IOException {
    Map<String, Doc> doc = documented();
    List<String> lines = new ArrayList<>();

    Path raw = dir.resolve("disk.raw");
    byte[] b = new byte[6 << 20];
    new Random(4).nextBytes(b);
    Files.write(raw, b);
    Path image = dir.resolve("disk.imprint");
    CliRun.Result c =
        CliRun.run("create", "--source", raw.toString(), "--output", image.toString(), "--json");
    assertEquals(0, c.code(), c::toString);
    lines.addAll(c.out().lines().toList());
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            dir.resolve("t1").toString(),
            "--target",
            dir.resolve("t2").toString(),
            "--erase",
            "--noprompt",
            "--new-ids",
            "--json");
    assertEquals(0, r.code(), r::toString);
    lines.addAll(r.out().lines().toList());
    CliRun.Result refused =
        CliRun.run(
            "restore",
            "--source",
            dir.resolve("missing").toString(),
            "--target",
            dir.resolve("t3").toString(),
            "--erase",
            "--noprompt",
            "--json");
    assertEquals(ExitCode.BAD_INPUT, refused.code(), refused::toString);
    lines.addAll(refused.out().lines().toList());
    Path jobs = dir.resolve("jobs.conf");
    Files.writeString(
        jobs,
        "jobs = [ { name = one, source = \"%s\", targets = [t4], erase = true } ]"
            .formatted(image));
    for (String[] args :
        List.of(
            new String[] {"batch", jobs.toString(), "--json", "--noprompt"},
            new String[] {"batch", jobs.toString(), "--json", "--dry-run"})) {
      CliRun.Result batch = CliRun.run(args);
      assertEquals(0, batch.code(), batch::toString);
      lines.addAll(batch.out().lines().toList());
    }
    // What real runs here do not produce: a warning and a note.
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    JsonDisplay json = new JsonDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    json.restoreEvent(new RestoreEvent.Warning("server has no range support"));
    json.note("grown");
    lines.addAll(bytes.toString(StandardCharsets.UTF_8).lines().toList());

    Set<String> seen = new LinkedHashSet<>();
    for (String line : lines) {
      assertTrue(line.startsWith("{\"schema\":" + JsonDisplay.SCHEMA + ","), line);
      @SuppressWarnings("unchecked")
      Map<String, Object> o = (Map<String, Object>) new MiniJson(line).value();
      String event = (String) o.get("event");
      Doc d = doc.get(event);
      assertTrue(d != null, "event " + event + " is not in docs/EVENTS.md: " + line);
      seen.add(event);
      Set<String> keys = new TreeSet<>(o.keySet());
      keys.remove("schema");
      keys.remove("event");
      // A batch job's events carry its name (docs/EVENTS.md, first section).
      keys.remove("job");
      assertTrue(d.fields().containsAll(keys), "undocumented fields in " + line + ": " + keys);
      assertTrue(keys.containsAll(d.required()), "missing fields in " + line + ": " + d.required());
      for (var n : d.nested().entrySet()) {
        for (Object entry : (List<?>) o.get(n.getKey())) {
          assertEquals(n.getValue(), new TreeSet<>(((Map<?, ?>) entry).keySet()), line);
        }
      }
      if (event.equals("state")) {
        assertTrue(states().contains((String) o.get("state")), line);
      }
    }
    assertEquals(doc.keySet(), seen, "documented events that no run printed");
  }

  /** Just enough JSON to read our own lines back: objects, arrays, strings, numbers, literals. */
  private static final class MiniJson {
    private final String s;
    private int i;

    MiniJson(String s) {
      this.s = s;
    }

    Object value() {
      char c = s.charAt(i);
      if (c == '{') {
        Map<String, Object> m = new LinkedHashMap<>();
        i++;
        while (s.charAt(i) != '}') {
          String k = string();
          i++; // ':'
          m.put(k, value());
          if (s.charAt(i) == ',') {
            i++;
          }
        }
        i++;
        return m;
      }
      if (c == '[') {
        List<Object> l = new ArrayList<>();
        i++;
        while (s.charAt(i) != ']') {
          l.add(value());
          if (s.charAt(i) == ',') {
            i++;
          }
        }
        i++;
        return l;
      }
      if (c == '"') {
        return string();
      }
      int start = i;
      while (i < s.length() && ",}]".indexOf(s.charAt(i)) < 0) {
        i++;
      }
      return s.substring(start, i);
    }

    private String string() {
      StringBuilder b = new StringBuilder();
      i++;
      while (s.charAt(i) != '"') {
        char c = s.charAt(i++);
        if (c == '\\') {
          char e = s.charAt(i++);
          if (e == 'u') {
            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          } else {
            b.append(e == 'n' ? '\n' : e == 't' ? '\t' : e);
          }
        } else {
          b.append(c);
        }
      }
      i++;
      return b.toString();
    }
  }
}
