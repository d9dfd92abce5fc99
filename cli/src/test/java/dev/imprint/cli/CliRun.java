package dev.imprint.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs {@code imprint} in-process and captures what it prints. */
public final class CliRun {
  private CliRun() {}

  /** What one run of imprint did: its exit code and everything it printed. */
  public record Result(int code, String out, String err) {
    @Override
    public String toString() {
      return "exit " + code + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
    }
  }

  /** Runs imprint with the given arguments and an empty stdin. */
  public static Result run(String... args) {
    return runWithStdin(new byte[0], args);
  }

  /**
   * {@code restore --source SOURCE [more...] --target TARGET --erase --noprompt}: a restore that
   * needs no prompt, with the test's own options between.
   */
  public static Result restore(String source, java.nio.file.Path target, String... more) {
    java.util.List<String> args =
        new java.util.ArrayList<>(java.util.List.of("restore", "--source", source));
    args.addAll(java.util.List.of(more));
    args.addAll(java.util.List.of("--target", target.toString(), "--erase", "--noprompt"));
    return run(args.toArray(String[]::new));
  }

  /** Runs imprint with the given bytes as stdin. */
  public static Result runWithStdin(byte[] stdin, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(args, new ByteArrayInputStream(stdin), o, e);
    }
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
