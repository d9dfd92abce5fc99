package dev.imprint.cli.output;

import dev.imprint.actors.restore.RestoreEvent;

/**
 * How a long command shows itself: asr's dots on a terminal or a log, live per-target lines, asr's
 * --puppetstrings, or JSON lines. Called from one thread at a time.
 */
public interface Display {
  /** A named step such as "Validating target" starts. */
  void stepStarted(String step);

  /** The step that started last ends well. */
  void stepDone(String step);

  /** The step that started last was refused; the error line follows on standard error. */
  void stepFailed(String step);

  /** A line for the user (not an error). */
  void note(String message);

  /** Progress of a phase with no targets (create, imagescan): done of total bytes. */
  void progress(String phase, long done, long total);

  /** An event of a restore session. */
  void restoreEvent(RestoreEvent event);

  /** The final line. */
  void finished(boolean ok, String message);
}
