package dev.imprint.cli.output;

import dev.imprint.actors.restore.RestoreEvent;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --json}: one JSON object per event and line, each carrying the schema version first
 * (docs/EVENTS.md documents every event field by field, and a test holds this class to it).
 */
public final class JsonDisplay implements Display {
  /** Raised when a field changes meaning or goes away; new fields and events keep it. */
  public static final int SCHEMA = 1;

  private final PrintStream out;

  /** Put after the schema on every line: {@code "job":NAME,} for a batch job, else empty. */
  private final String tag;

  public JsonDisplay(PrintStream out) {
    this.out = out;
    this.tag = "";
  }

  /** The events of one job of {@code imprint batch}: each line also carries {@code "job"}. */
  public JsonDisplay(PrintStream out, String job) {
    this.out = out;
    String o = Json.object("job", job);
    this.tag = o.substring(1, o.length() - 1) + ",";
  }

  /** Prints one object, with {@code "schema"} put first. */
  public void emit(String json) {
    out.println("{\"schema\":" + SCHEMA + (json.length() > 2 ? "," + tag : "") + json.substring(1));
    out.flush();
  }

  @Override
  public void stepStarted(String step) {
    emit(Json.object("event", "step", "step", step, "status", "started"));
  }

  @Override
  public void stepDone(String step) {
    emit(Json.object("event", "step", "step", step, "status", "done"));
  }

  @Override
  public void stepFailed(String step) {
    emit(Json.object("event", "step", "step", step, "status", "failed"));
  }

  @Override
  public void note(String message) {
    emit(Json.object("event", "note", "message", message));
  }

  @Override
  public void progress(String phase, long done, long total) {
    emit(Json.object("event", "progress", "phase", phase, "done", done, "total", total));
  }

  @Override
  public void restoreEvent(RestoreEvent event) {
    if (event instanceof RestoreEvent.StateChanged s) {
      emit(
          Json.object(
              "event", "state",
              "target", s.target(),
              "state", s.state().wireName(),
              "detail", s.detail()));
    } else if (event instanceof RestoreEvent.Warning w) {
      emit(Json.object("event", "warning", "message", w.message()));
    } else if (event instanceof RestoreEvent.Planned p) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (RestoreEvent.TargetToErase t : p.targets()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("target", t.target());
        m.put("device", t.device());
        m.put("model", t.model());
        m.put("size", t.size());
        m.put("unmounts", t.unmounts());
        list.add(m);
      }
      emit(Json.object("event", "planned", "consentNeeded", p.consentNeeded(), "targets", list));
    } else if (event instanceof RestoreEvent.Progress p) {
      emit(
          Json.object(
              "event", "progress",
              "phase", p.phase().wireName(),
              "target", p.target(),
              "done", p.done(),
              "total", p.total(),
              "bytesPerSecond", Math.round(p.bytesPerSecond())));
    } else if (event instanceof RestoreEvent.IdsRenewed n) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (var v : n.ids().volumes()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("number", v.number());
        m.put("partitionGuid", v.partitionGuid());
        m.put("filesystem", v.filesystem());
        m.put("uuid", v.uuid());
        list.add(m);
      }
      emit(
          Json.object(
              "event",
              "newIds",
              "target",
              n.target(),
              "diskId",
              n.ids().diskId(),
              "volumes",
              list));
    } else if (event instanceof RestoreEvent.Finished f) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (RestoreEvent.Outcome o : f.outcomes()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("target", o.target());
        m.put("state", o.state().wireName());
        m.put("detail", o.detail());
        m.put("verifyFailed", o.verifyFailed());
        m.put("bytesWritten", o.bytesWritten());
        list.add(m);
      }
      emit(
          Json.object(
              "event",
              "summary",
              "elapsedMillis",
              f.elapsedMillis(),
              "sourceDamaged",
              f.sourceDamaged(),
              "targets",
              list));
    }
  }

  @Override
  public void finished(boolean ok, String message) {
    emit(Json.object("event", "finished", "ok", ok, "message", message));
  }

  /** A job's end: also its status (lower case, as RestoreJob.Status) and the exit code. */
  public void finished(boolean ok, String message, String status, int exitCode) {
    emit(
        Json.object(
            "event", "finished",
            "ok", ok,
            "message", message,
            "status", status.toLowerCase(Locale.ROOT),
            "exitCode", exitCode));
  }
}
