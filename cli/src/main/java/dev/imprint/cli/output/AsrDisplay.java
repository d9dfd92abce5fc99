package dev.imprint.cli.output;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.TargetState;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;

/**
 * asr's own look: {@code Validating target...done}, then {@code Restoring ....10....100}. With
 * several targets the dots follow the slowest one and each target's state changes get a line.
 */
public final class AsrDisplay implements Display {
  private final PrintStream out;
  private final Dots dots;
  private final int targets;
  private final Map<String, long[]> progress = new HashMap<>();
  private TargetState phase;
  private String erasing;

  public AsrDisplay(PrintStream out, int targets) {
    this.out = out;
    this.dots = new Dots(out);
    this.targets = targets;
  }

  @Override
  public void stepStarted(String step) {
    dots.end();
    out.print(step + "...");
    out.flush();
  }

  @Override
  public void stepDone(String step) {
    out.println("done");
  }

  @Override
  public void stepFailed(String step) {
    out.println("failed");
  }

  @Override
  public void note(String message) {
    dots.end();
    out.println(message);
  }

  @Override
  public void progress(String phase, long done, long total) {
    if (!dots.open()) {
      dots.start(phase);
    }
    dots.update(done, total);
  }

  @Override
  public void restoreEvent(RestoreEvent event) {
    if (event instanceof RestoreEvent.StateChanged s) {
      if (targets == 1 && s.state() == TargetState.ERASING) {
        // asr's line for the same moment.
        erasing = s.target();
        stepStarted("Erasing target device " + s.target());
        return;
      }
      if (erasing != null) {
        erasing = null;
        if (s.state() == TargetState.FAILED) {
          stepFailed("");
        } else {
          stepDone("");
        }
      }
      if (s.state() == TargetState.FAILED) {
        dots.end();
        out.println("Target " + s.target() + " failed: " + s.detail());
      } else if (targets > 1 && s.state() == TargetState.DONE) {
        dots.end();
        out.println("Target " + s.target() + " done");
      }
    } else if (event instanceof RestoreEvent.Progress p) {
      if (p.phase() != phase) {
        phase = p.phase();
        progress.clear();
        dots.start(phase == TargetState.VERIFYING ? "Verifying" : "Restoring");
      }
      progress.put(p.target(), new long[] {p.done(), p.total()});
      // The slowest target sets the pace of the dots.
      double min = 1;
      for (long[] v : progress.values()) {
        min = Math.min(min, v[1] <= 0 ? 0 : (double) v[0] / v[1]);
      }
      if (progress.size() == 1 || progress.size() >= activeGuess()) {
        dots.update((long) (min * 1000), 1000);
      }
    } else if (event instanceof RestoreEvent.Finished) {
      dots.end();
    }
  }

  private int activeGuess() {
    return Math.max(1, targets);
  }

  @Override
  public void finished(boolean ok, String message) {
    dots.end();
    out.println(message);
  }
}
