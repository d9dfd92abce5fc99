package dev.imprint.actors.station;

import java.util.Locale;

/**
 * Where a slot's drive is. A job moves checking → erasing → writing → verifying → done | failed;
 * the drive then goes ({@code removed}). A drive the rules refuse is {@code ignored} and never
 * touched; without {@code --erase}, one they accept is {@code ready}.
 */
public enum SlotState {
  IGNORED,
  READY,
  /** Its safety checks and the fake-capacity probe run. */
  CHECKING,
  ERASING,
  WRITING,
  VERIFYING,
  DONE,
  FAILED,
  REMOVED;

  /** Whether a job is running on the drive. */
  public boolean busy() {
    return this == CHECKING || this == ERASING || this == WRITING || this == VERIFYING;
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
