package dev.imprint.cli.output;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.TargetState;
import java.io.PrintStream;
import java.util.Locale;

/**
 * asr's {@code --puppetstrings}: tab-separated lines for a program to read. {@code XSTA} lines mark
 * a step's start and finish, {@code PSTT} lines carry the percent as the second field, {@code PERR}
 * lines an error, {@code PINF} lines information.
 */
public final class PuppetDisplay implements Display {
  private final PrintStream out;

  public PuppetDisplay(PrintStream out) {
    this.out = out;
  }

  @Override
  public void stepStarted(String step) {
    out.println("XSTA\tstart\t" + step);
  }

  @Override
  public void stepDone(String step) {
    out.println("XSTA\tfinish\t" + step);
  }

  @Override
  public void stepFailed(String step) {
    out.println("XSTA\tfail\t" + step);
  }

  @Override
  public void note(String message) {
    out.println("PINF\t" + message);
  }

  @Override
  public void progress(String phase, long done, long total) {
    out.println(
        String.format(
            Locale.ROOT, "PSTT\t%.1f\t%s", total <= 0 ? 0.0 : 100.0 * done / total, phase));
  }

  @Override
  public void restoreEvent(RestoreEvent event) {
    if (event instanceof RestoreEvent.StateChanged s) {
      String state = s.state().name().toLowerCase(Locale.ROOT);
      if (s.state() == TargetState.FAILED) {
        out.println("PERR\t" + s.target() + "\t" + s.detail());
      } else {
        out.println("XSTA\tstate\t" + s.target() + "\t" + state);
      }
    } else if (event instanceof RestoreEvent.Progress p) {
      out.println(
          String.format(
              Locale.ROOT,
              "PSTT\t%.1f\t%s\t%s",
              p.total() <= 0 ? 0.0 : 100.0 * p.done() / p.total(),
              p.phase() == TargetState.VERIFYING ? "verify" : "restore",
              p.target()));
    }
    out.flush();
  }

  @Override
  public void finished(boolean ok, String message) {
    out.println((ok ? "XSTA\tfinish\tall\t" : "PERR\t") + message);
    out.flush();
  }
}
