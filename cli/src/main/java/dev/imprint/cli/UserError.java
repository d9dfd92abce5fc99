package dev.imprint.cli;

/** A mistake or a refusal to report as one line, with the exit code it deserves. */
public final class UserError extends RuntimeException {
  private final int exitCode;

  public UserError(String message, int exitCode) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }

  public UserError(String message) {
    this(message, ExitCode.BAD_INPUT);
  }

  public int exitCode() {
    return exitCode;
  }
}
