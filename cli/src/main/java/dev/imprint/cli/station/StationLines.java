package dev.imprint.cli.station;

import dev.imprint.actors.station.SlotState;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.cli.output.Sizes;
import java.io.PrintStream;

/** Not a terminal: one line per state change, nothing for progress. */
final class StationLines implements StationDisplay {
  private final PrintStream out;

  StationLines(PrintStream out) {
    this.out = out;
  }

  @Override
  public void event(StationEvent e) {
    if (e instanceof StationEvent.SlotChanged c) {
      String detail = c.detail().isEmpty() ? "" : ": " + c.detail();
      if (c.firstBadOffset() >= 0) {
        detail += " [first bad byte " + c.firstBadOffset() + "]";
      }
      out.println(
          c.label()
              + " "
              + c.drive().node()
              + " ("
              + BoardModel.who(c.drive())
              + ", "
              + Sizes.human(c.drive().size())
              + ") "
              + c.state().wireName()
              + (c.state() == SlotState.REMOVED ? "" : detail));
    } else if (e instanceof StationEvent.Warning w) {
      out.println("warning: " + w.message());
    } else if (e instanceof StationEvent.Draining d) {
      out.println("stopping (" + d.why() + "): running jobs finish; a second signal aborts them");
    } else if (e instanceof StationEvent.Watching w) {
      out.println("Watching for drives (" + w.present() + " attached already).");
    } else if (e instanceof StationEvent.SlotLearned l) {
      out.println("learned: " + l.label() + " = " + l.slot());
    }
    out.flush();
  }

  @Override
  public void finished(boolean ok, String message, int exitCode) {
    out.println(message);
    out.flush();
  }
}
