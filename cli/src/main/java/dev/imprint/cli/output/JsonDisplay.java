package dev.imprint.cli.output;

import dev.imprint.actors.restore.RestoreEvent;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code --json}: one JSON object per event and line (documented in the README). */
public final class JsonDisplay implements Display {
  private final PrintStream out;

  public JsonDisplay(PrintStream out) {
    this.out = out;
  }

  public void emit(String json) {
    out.println(json);
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
              "state", s.state().name().toLowerCase(Locale.ROOT),
              "detail", s.detail()));
    } else if (event instanceof RestoreEvent.Progress p) {
      emit(
          Json.object(
              "event", "progress",
              "phase", p.phase().name().toLowerCase(Locale.ROOT),
              "target", p.target(),
              "done", p.done(),
              "total", p.total(),
              "bytesPerSecond", Math.round(p.bytesPerSecond())));
    } else if (event instanceof RestoreEvent.Finished f) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (RestoreEvent.Outcome o : f.outcomes()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("target", o.target());
        m.put("state", o.state().name().toLowerCase(Locale.ROOT));
        m.put("detail", o.detail());
        m.put("verifyFailed", o.verifyFailed());
        m.put("bytesWritten", o.bytesWritten());
        list.add(m);
      }
      emit(Json.object("event", "summary", "elapsedMillis", f.elapsedMillis(), "targets", list));
    }
  }

  @Override
  public void finished(boolean ok, String message) {
    emit(Json.object("event", "finished", "ok", ok, "message", message));
  }
}
