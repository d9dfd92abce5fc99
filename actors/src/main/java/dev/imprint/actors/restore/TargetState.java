package dev.imprint.actors.restore;

/** Where one target is in its restore. */
public enum TargetState {
  VALIDATING,
  ERASING,
  WRITING,
  VERIFYING,
  DONE,
  FAILED;

  public boolean terminal() {
    return this == DONE || this == FAILED;
  }
}
