package dev.imprint.cli.output;

import dev.imprint.actors.restore.RestoreEvent;
import java.io.PrintStream;

/**
 * One job of {@code imprint batch} as plain lines, each starting with the job's name, so that jobs
 * running side by side can share one screen or log: steps, target states, notes and the result; no
 * progress dots.
 */
public final class JobLines implements Display {
  private final PrintStream out;
  private final String job;

  public JobLines(PrintStream out, String job) {
    this.out = out;
    this.job = job;
  }

  private void line(String s) {
    out.println(job + ": " + s);
    out.flush();
  }

  @Override
  public void stepStarted(String step) {}

  @Override
  public void stepDone(String step) {
    line(step + "...done");
  }

  @Override
  public void stepFailed(String step) {
    line(step + "...failed");
  }

  @Override
  public void note(String message) {
    line(message);
  }

  @Override
  public void progress(String phase, long done, long total) {}

  @Override
  public void restoreEvent(RestoreEvent event) {
    if (event instanceof RestoreEvent.StateChanged s) {
      line(
          s.target()
              + ": "
              + s.state().wireName()
              + (s.detail() == null || s.detail().isEmpty() ? "" : ": " + s.detail()));
    }
  }

  @Override
  public void finished(boolean ok, String message) {
    line(message.replace("\n", "\n" + job + ": "));
  }
}
