package dev.imprint.actors.restore;

import java.util.List;

/** What a restore session tells whoever shows it: the CLI's dots, per-slot lines, JSON. */
public sealed interface RestoreEvent {
  /** A target moved to a new state; {@code detail} says why when it failed. */
  record StateChanged(String target, TargetState state, String detail) implements RestoreEvent {}

  /** Progress of one target's current phase (writing or verifying), in bytes. */
  record Progress(String target, TargetState phase, long done, long total, double bytesPerSecond)
      implements RestoreEvent {}

  /** Every target finished; the session has stopped. */
  record Finished(List<Outcome> outcomes, long elapsedMillis) implements RestoreEvent {
    public boolean allSucceeded() {
      return outcomes.stream().allMatch(o -> o.state() == TargetState.DONE);
    }
  }

  /** How one target ended. {@code verifyFailed} separates a bad read-back from an I/O failure. */
  record Outcome(
      String target, TargetState state, String detail, boolean verifyFailed, long bytesWritten) {}
}
