package dev.imprint.engine.job;

import java.io.IOException;

/**
 * A job refused before anything was written, with one line that names the problem and the fix. The
 * {@link Problem} says which exit code it deserves.
 */
public final class Refusal extends IOException {
  /** Why: the user's input, or a damaged image. */
  public enum Problem {
    BAD_INPUT,
    DAMAGED
  }

  private final Problem problem;

  public Refusal(String message) {
    this(Problem.BAD_INPUT, message);
  }

  public Refusal(Problem problem, String message) {
    super(message, null);
    this.problem = problem;
  }

  public Problem problem() {
    return problem;
  }
}
