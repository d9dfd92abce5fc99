package dev.imprint.actors.restore;

import java.util.List;

/**
 * What a restore job tells its front end (the CLI's dots, per-slot lines, JSON lines; next the
 * station's board and the multicast client). docs/EVENTS.md documents each one as JSON.
 */
public sealed interface RestoreEvent {
  /** A named step such as "Validating target" moved on. */
  record Step(String name, StepStatus status) implements RestoreEvent {}

  /** How far a step got. */
  enum StepStatus {
    STARTED,
    DONE,
    FAILED
  }

  /** A line for the user that is neither progress nor an error. */
  record Note(String message) implements RestoreEvent {}

  /** Something the user should know that does not stop the job (a retry, a bad signature). */
  record Warning(String message) implements RestoreEvent {}

  /**
   * Targets and source passed their checks. With {@code consentNeeded} the job now waits for the
   * front end's {@link RestoreJob.Consent} before it unmounts or erases anything.
   *
   * @param targets one entry per target: device, what it is, and what would be unmounted
   */
  record Planned(List<TargetToErase> targets, boolean consentNeeded) implements RestoreEvent {}

  /**
   * A target about to be erased, as the prompt names it.
   *
   * @param target as the user named it
   * @param device the device under it (differs when a mount point was named)
   * @param model model or kind ("new file", "loop device")
   * @param size bytes, 0 for a new file
   * @param unmounts "DEVICE from MOUNTPOINT" for each mount that will be unmounted
   */
  record TargetToErase(
      String target, String device, String model, long size, List<String> unmounts) {}

  /** A target moved to a new state; {@code detail} says why when it failed. */
  record StateChanged(String target, TargetState state, String detail) implements RestoreEvent {}

  /** Progress of one target's current phase (writing or verifying), in bytes. */
  record Progress(String target, TargetState phase, long done, long total, double bytesPerSecond)
      implements RestoreEvent {}

  /**
   * Every target of the session finished; the session has stopped.
   *
   * @param sourceDamaged the source turned out damaged part-way (every target failed for it)
   */
  record Finished(List<Outcome> outcomes, long elapsedMillis, boolean sourceDamaged)
      implements RestoreEvent {
    public boolean allSucceeded() {
      return outcomes.stream().allMatch(o -> o.state() == TargetState.DONE);
    }
  }

  /** How one target ended. {@code verifyFailed} separates a bad read-back from an I/O failure. */
  record Outcome(
      String target, TargetState state, String detail, boolean verifyFailed, long bytesWritten) {}

  /** {@code --new-ids}: a restored target got these fresh ids (for the station's audit log). */
  record IdsRenewed(String target, dev.imprint.engine.job.NewIds.Result ids)
      implements RestoreEvent {}

  /** The job is over: the last event a front end gets. */
  record JobEnded(RestoreJob.Result result) implements RestoreEvent {}
}
