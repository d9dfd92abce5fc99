package dev.imprint.cli;

/** What imprint's exit status means (README, "Exit codes"). */
public final class ExitCode {
  /** Everything asked for succeeded. */
  public static final int OK = 0;

  /** Some targets failed (I/O error, disk full, device gone); the others finished. */
  public static final int TARGETS_FAILED = 1;

  /** Bad input or usage: nothing was written. */
  public static final int BAD_INPUT = 2;

  /** A target's read-back differs from the image. */
  public static final int VERIFY_FAILED = 3;

  /** The image is damaged (imagescan, info). */
  public static final int DAMAGED = 4;

  /** A bug in imprint: the log file has the details. */
  public static final int INTERNAL = 70;

  /** Interrupted by the user. */
  public static final int INTERRUPTED = 130;

  private ExitCode() {}
}
