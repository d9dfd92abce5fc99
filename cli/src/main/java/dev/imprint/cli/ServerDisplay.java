package dev.imprint.cli;

import dev.imprint.actors.multicast.ClientView;
import dev.imprint.actors.multicast.ServerEvent;
import dev.imprint.cli.output.Json;
import dev.imprint.cli.output.Sizes;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code imprint server} shows: asr's lines ({@code Ready to start accepting clients}, {@code
 * Starting stream DATE}), one live line per client on a terminal (redrawn in place), a summary line
 * when each client finishes or leaves; or one JSON object per event with {@code --json}.
 */
final class ServerDisplay {
  private static final DateTimeFormatter DATE =
      DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss yyyy", Locale.ROOT)
          .withZone(ZoneId.systemDefault());

  private final PrintStream out;
  private final boolean json;
  private final boolean live;
  private final boolean several;
  private final Map<String, String> lines = new LinkedHashMap<>();
  private int drawn;

  ServerDisplay(PrintStream out, boolean json, boolean live, boolean severalSessions) {
    this.out = out;
    this.json = json;
    this.live = live && !json;
    this.several = severalSessions;
  }

  void show(ServerEvent e) {
    if (json) {
      out.println(json(e));
      out.flush();
      return;
    }
    if (e instanceof ServerEvent.ClientStatus s) {
      String key = s.session() + "/" + s.client().id();
      lines.put(key, prefix(s.session()) + clientLine(s.client()));
      if (live) {
        redraw();
      }
      return;
    }
    String line = text(e);
    if (line == null) {
      return;
    }
    if (e instanceof ServerEvent.ClientGone g) {
      lines.remove(g.session() + "/" + g.client().id());
    }
    if (live) {
      clearLive();
      out.println(line);
      redraw();
    } else {
      out.println(line);
    }
    out.flush();
  }

  private String prefix(String session) {
    return several ? "[" + session + "] " : "";
  }

  private String text(ServerEvent e) {
    if (e instanceof ServerEvent.Ready r) {
      return prefix(r.session()) + "Ready to start accepting clients";
    }
    if (e instanceof ServerEvent.StreamStarted s) {
      return prefix(s.session())
          + "Starting stream "
          + DATE.format(s.at())
          + (live
              ? "  (loop "
                  + (s.loop() + 1)
                  + ", "
                  + Sizes.human(s.rate())
                  + "/s, parity "
                  + s.parity()
                  + " per block)"
              : "");
    }
    if (e instanceof ServerEvent.StreamSuspended s) {
      return prefix(s.session())
          + "Suspending stream after "
          + s.loops()
          + " loops without a client (Loop Suspend); it resumes when one arrives";
    }
    if (e instanceof ServerEvent.Warning w) {
      return "imprint: warning: " + prefix(w.session()) + w.message();
    }
    if (e instanceof ServerEvent.Failed f) {
      return null; // the command prints it as its error line
    }
    if (e instanceof ServerEvent.ClientGone g) {
      return prefix(g.session()) + summary(g.client(), g.how());
    }
    return null;
  }

  static String clientLine(ClientView c) {
    Duration eta = c.eta();
    return String.format(
            Locale.ROOT,
            "%-15s %-10s %5.1f%%  loss %4.1f%%  %9s/s  ETA %s",
            c.address(),
            c.state(),
            c.percent(),
            c.loss() * 100,
            Sizes.human(c.writeRate()),
            eta == null
                ? "--:--"
                : String.format(Locale.ROOT, "%d:%02d", eta.toMinutes(), eta.toSecondsPart()))
        + (c.writeBound() ? "  (cannot write faster)" : "");
  }

  static String summary(ClientView c, String how) {
    long secs = Math.max(1, Duration.between(c.since(), Instant.now()).toSeconds());
    String verb =
        switch (how) {
          case "done" -> "finished";
          case "failed" -> "failed" + (c.detail().isEmpty() ? "" : " (" + c.detail() + ")");
          case "silent" -> "went silent and is dropped";
          case "server stopped" -> "was still here when the server stopped";
          default -> "left";
        };
    return String.format(
        Locale.ROOT,
        "Client %s (%s) %s: %.1f%% of %s in %d s, %s/s on average, loss %.1f%%",
        c.address(),
        c.name(),
        verb,
        c.percent(),
        Sizes.human(c.total()),
        secs,
        Sizes.human(c.done() / secs),
        c.loss() * 100);
  }

  private void clearLive() {
    for (int i = 0; i < drawn; i++) {
      out.print("\033[1A\033[2K");
    }
    drawn = 0;
  }

  private void redraw() {
    clearLive();
    for (String l : lines.values()) {
      out.println(l);
    }
    drawn = lines.size();
    out.flush();
  }

  private static String json(ServerEvent e) {
    if (e instanceof ServerEvent.Ready r) {
      return Json.object("schema", 1, "event", "ready", "session", r.session(), "port", r.port());
    }
    if (e instanceof ServerEvent.StreamStarted s) {
      return Json.object(
          "schema",
          1,
          "event",
          "stream",
          "session",
          s.session(),
          "loop",
          s.loop(),
          "at",
          s.at().toString(),
          "rate",
          s.rate(),
          "parity",
          s.parity());
    }
    if (e instanceof ServerEvent.StreamSuspended s) {
      return Json.object(
          "schema", 1, "event", "suspended", "session", s.session(), "loops", s.loops());
    }
    if (e instanceof ServerEvent.Warning w) {
      return Json.object(
          "schema", 1, "event", "warning", "session", w.session(), "message", w.message());
    }
    if (e instanceof ServerEvent.Failed f) {
      return Json.object(
          "schema", 1, "event", "failed", "session", f.session(), "message", f.message());
    }
    if (e instanceof ServerEvent.ClientStatus s) {
      return client("client", s.session(), s.client(), null);
    }
    if (e instanceof ServerEvent.ClientGone g) {
      return client("client-gone", g.session(), g.client(), g.how());
    }
    return Json.object("schema", 1, "event", "stopped");
  }

  private static String client(String event, String session, ClientView c, String how) {
    Duration eta = c.eta();
    return Json.object(
        "schema",
        1,
        "event",
        event,
        "session",
        session,
        "client",
        c.id(),
        "address",
        c.address(),
        "name",
        c.name(),
        "state",
        c.state(),
        "done",
        c.done(),
        "total",
        c.total(),
        "percent",
        Math.round(c.percent() * 10) / 10.0,
        "loss",
        c.loss(),
        "writeRate",
        c.writeRate(),
        "writeBound",
        c.writeBound(),
        "eta",
        eta == null ? null : eta.toSeconds(),
        "how",
        how);
  }
}
