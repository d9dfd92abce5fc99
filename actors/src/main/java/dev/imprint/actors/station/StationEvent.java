package dev.imprint.actors.station;

import dev.imprint.engine.discovery.Drive;

/** What the station tells its front end (the board, state lines, JSON lines). */
public sealed interface StationEvent {
  /**
   * A slot's drive moved to a new state.
   *
   * @param slot the slot key (port path, or kernel name for a device without one)
   * @param label the slot's label from the slot map, else the slot key
   * @param drive the drive in the slot
   * @param detail why, for ignored and failed; the result line for done
   * @param firstBadOffset the first byte that read back wrong, -1 if none
   */
  record SlotChanged(
      String slot, String label, Drive drive, SlotState state, String detail, long firstBadOffset)
      implements StationEvent {}

  /** Progress of a slot's writing or verifying, about four times a second. */
  record SlotProgress(String slot, SlotState phase, long done, long total, double bytesPerSecond)
      implements StationEvent {}

  /**
   * Watching has started: the drives attached before it were found (each then gets a {@link
   * SlotChanged}); from now on new drives are noticed.
   */
  record Watching(int present) implements StationEvent {}

  /** A slot learned its label ({@code --learn-slots}). */
  record SlotLearned(String slot, String label) implements StationEvent {}

  /** Something to know that stops nothing (a slot collision, polling instead of uevents). */
  record Warning(String message) implements StationEvent {}

  /** The station stopped taking drives ({@code --once} reached, or a signal). */
  record Draining(String why) implements StationEvent {}

  /** The last event: the station has stopped; every job has ended. */
  record Stopped(int succeeded, int failed, boolean verifyFailed, boolean aborted)
      implements StationEvent {}
}
