package dev.imprint.cli.station;

import dev.imprint.actors.station.StationEvent;
import dev.imprint.cli.output.Json;
import java.io.PrintStream;

/** {@code --json}: one object per event, in the style of docs/EVENTS.md (docs/STATION.md). */
final class StationJson implements StationDisplay {
  private final PrintStream out;

  StationJson(PrintStream out) {
    this.out = out;
  }

  @Override
  public void event(StationEvent e) {
    String line = null;
    if (e instanceof StationEvent.SlotChanged c) {
      line =
          Json.object(
              "schema", 1,
              "event", "slot",
              "slot", c.slot(),
              "label", c.label(),
              "device", c.drive().node().toString(),
              "transport", c.drive().transport(),
              "vendor", c.drive().vendor(),
              "model", c.drive().model(),
              "serial", c.drive().serial(),
              "size", c.drive().size(),
              "state", c.state().wireName(),
              "detail", c.detail(),
              "firstBadOffset", c.firstBadOffset());
    } else if (e instanceof StationEvent.SlotProgress p) {
      line =
          Json.object(
              "schema", 1,
              "event", "progress",
              "slot", p.slot(),
              "phase", p.phase().wireName(),
              "done", p.done(),
              "total", p.total(),
              "bytesPerSecond", Math.round(p.bytesPerSecond()));
    } else if (e instanceof StationEvent.Watching w) {
      line = Json.object("schema", 1, "event", "watching", "present", w.present());
    } else if (e instanceof StationEvent.SlotLearned l) {
      line = Json.object("schema", 1, "event", "learned", "slot", l.slot(), "label", l.label());
    } else if (e instanceof StationEvent.Warning w) {
      line = Json.object("schema", 1, "event", "warning", "message", w.message());
    } else if (e instanceof StationEvent.Draining d) {
      line = Json.object("schema", 1, "event", "draining", "why", d.why());
    }
    if (line != null) {
      out.println(line);
      out.flush();
    }
  }

  @Override
  public void finished(boolean ok, String message, int exitCode) {
    out.println(
        Json.object(
            "schema",
            1,
            "event",
            "finished",
            "ok",
            ok,
            "message",
            message,
            "exitCode",
            exitCode,
            "chunksDecoded",
            dev.imprint.engine.pipeline.ImageChunks.decodedChunks()));
    out.flush();
  }
}
