package dev.imprint.cli.station;

import dev.imprint.actors.station.Station;
import dev.imprint.actors.station.StationConfig;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.cli.ExitCode;
import dev.imprint.cli.JobHost;
import java.io.PrintStream;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Runs a station and shows its events on this thread: a board on a terminal, else one line per
 * change, or JSON lines. The first interrupt lets running jobs finish; the second aborts them.
 */
public final class StationFrontEnd {
  private StationFrontEnd() {}

  /**
   * @param onInterrupt installs what the first SIGINT/SIGTERM does
   * @param onSecondInterrupt installs what the second does
   * @return the exit code
   */
  public static int run(
      ActorSystem<Void> system,
      StationConfig config,
      boolean json,
      PrintStream out,
      boolean terminal,
      Consumer<Runnable> onInterrupt,
      Consumer<Runnable> onSecondInterrupt,
      StationWeb.Options web)
      throws InterruptedException, java.io.IOException {
    StationDisplay display = null;
    if (json) {
      display = new StationJson(out);
    } else if (terminal) {
      display = StationBoard.open(config.source().spec());
    }
    if (display == null) {
      display = new StationLines(out);
    }
    BlockingQueue<StationEvent> events = new LinkedBlockingQueue<>();
    CompletableFuture<ActorRef<Station.Command>> station = new CompletableFuture<>();
    StationWeb page = null;
    if (web != null) {
      try {
        page =
            StationWeb.start(
                system,
                config.source().spec(),
                web,
                new StationWeb.Control() {
                  @Override
                  public void arm(String slot, boolean armed) {
                    station.thenAccept(s -> s.tell(new Station.Arm(slot, armed)));
                  }

                  @Override
                  public void stop(String why) {
                    station.thenAccept(s -> s.tell(new Station.Stop(why)));
                  }
                });
      } catch (java.io.IOException e) {
        display.close();
        throw e;
      }
      display = new Tee(display, page);
      display.event(new StationEvent.Warning("the board is served at " + page.address()));
    }
    JobHost.start(
            system,
            "station",
            sink -> Station.create(config, sink),
            StationEvent.class,
            events::add,
            // The station always says Stopped first; this is the backstop.
            () -> new StationEvent.Stopped(0, 0, false, true))
        .thenAccept(station::complete);
    onInterrupt.accept(() -> station.thenAccept(s -> s.tell(new Station.Stop("interrupted"))));
    onSecondInterrupt.accept(
        () -> station.thenAccept(s -> s.tell(new Station.Abort("interrupted twice"))));
    try (StationDisplay d = display) {
      while (true) {
        StationEvent e = events.poll(250, TimeUnit.MILLISECONDS);
        if (e == null) {
          d.tick();
          continue;
        }
        d.event(e);
        if (e instanceof StationEvent.Stopped s) {
          int code =
              s.aborted()
                  ? ExitCode.INTERRUPTED
                  : s.failed() == 0
                      ? ExitCode.OK
                      : s.verifyFailed() ? ExitCode.VERIFY_FAILED : ExitCode.TARGETS_FAILED;
          String message =
              "Station stopped: "
                  + s.succeeded()
                  + " drive"
                  + (s.succeeded() == 1 ? "" : "s")
                  + " done, "
                  + s.failed()
                  + " failed"
                  + (s.aborted() ? " (aborted)" : "")
                  + ".";
          d.finished(code == ExitCode.OK, message, code);
          return code;
        }
        if (events.isEmpty()) {
          d.tick();
        }
      }
    } finally {
      onInterrupt.accept(null);
      onSecondInterrupt.accept(null);
    }
  }

  /** Shows every event on two displays: the terminal's and the web page. */
  private record Tee(StationDisplay first, StationDisplay second) implements StationDisplay {
    @Override
    public void event(StationEvent e) {
      first.event(e);
      second.event(e);
    }

    @Override
    public void tick() {
      first.tick();
      second.tick();
    }

    @Override
    public void finished(boolean ok, String message, int exitCode) {
      first.finished(ok, message, exitCode);
      second.finished(ok, message, exitCode);
    }

    @Override
    public void close() {
      try {
        second.close();
      } finally {
        first.close();
      }
    }
  }
}
