package dev.imprint.actors.restore;

import java.util.Locale;

/**
 * Where one target is in its restore. The one list of target states: the JSON output
 * (docs/EVENTS.md) and the station's board use these names, lower-cased.
 */
public enum TargetState {
  /** Its safety checks run (exists, not the system disk, size, not mounted). */
  VALIDATING,
  /** Old signatures at its start and end are being wiped. */
  ERASING,
  WRITING,
  /** Read back past the page cache and compared with what was written. */
  VERIFYING,
  DONE,
  FAILED;

  public boolean terminal() {
    return this == DONE || this == FAILED;
  }

  /** The name in JSON and on the board. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
