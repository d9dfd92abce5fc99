package dev.imprint.cli.output;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.TargetState;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Several targets on a terminal: one live line per target (device, model, percent, MB/s, state),
 * redrawn in place.
 */
public final class SlotDisplay implements Display {
  private final PrintStream out;
  private final AsrDisplay steps;
  private final Map<String, String> lines = new LinkedHashMap<>();
  private final Map<String, String> models;
  private int drawn;

  public SlotDisplay(PrintStream out, List<String> targets, Map<String, String> models) {
    this.out = out;
    this.steps = new AsrDisplay(out, targets.size());
    this.models = models;
    for (String t : targets) {
      lines.put(t, line(t, 0, 0, "waiting"));
    }
  }

  @Override
  public void stepStarted(String step) {
    steps.stepStarted(step);
  }

  @Override
  public void stepDone(String step) {
    steps.stepDone(step);
  }

  @Override
  public void stepFailed(String step) {
    steps.stepFailed(step);
  }

  @Override
  public void note(String message) {
    steps.note(message);
  }

  @Override
  public void progress(String phase, long done, long total) {
    steps.progress(phase, done, total);
  }

  @Override
  public void restoreEvent(RestoreEvent event) {
    if (event instanceof RestoreEvent.StateChanged s) {
      String state = s.state().name().toLowerCase(Locale.ROOT);
      if (s.state() == TargetState.FAILED) {
        state = "FAILED: " + s.detail();
      }
      int pct = s.state() == TargetState.DONE ? 100 : percentOf(s.target());
      lines.put(s.target(), line(s.target(), pct, 0, state));
      redraw();
    } else if (event instanceof RestoreEvent.Progress p) {
      int pct = p.total() <= 0 ? 0 : (int) Math.min(100, p.done() * 100 / p.total());
      String state = p.phase().name().toLowerCase(Locale.ROOT);
      lines.put(p.target(), line(p.target(), pct, p.bytesPerSecond(), state));
      redraw();
    }
  }

  private int percentOf(String target) {
    String l = lines.get(target);
    int i = l == null ? -1 : l.indexOf('%');
    if (i < 3) {
      return 0;
    }
    try {
      return Integer.parseInt(l.substring(i - 3, i).trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private String line(String target, int pct, double rate, String state) {
    String model = models.getOrDefault(target, "");
    return String.format(
        Locale.ROOT, "%-16s %-28.28s %3d%% %7.1f MB/s  %s", target, model, pct, rate / 1e6, state);
  }

  private void redraw() {
    StringBuilder b = new StringBuilder();
    if (drawn > 0) {
      b.append("\033[").append(drawn).append('F');
    }
    for (String l : lines.values()) {
      b.append("\033[2K").append(l).append('\n');
    }
    drawn = lines.size();
    out.print(b);
    out.flush();
  }

  @Override
  public void finished(boolean ok, String message) {
    out.println(message);
  }
}
