package dev.imprint.engine.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command for a test: with a timeout, and failing loudly with its stderr. */
public final class Cmd {
  public static final long TIMEOUT_SECONDS = 120;

  /** What a finished command left behind. */
  public record Result(List<String> argv, int exitCode, String stdout, String stderr) {}

  private Cmd() {}

  /**
   * Runs {@code argv} and returns its trimmed stdout.
   *
   * @throws IllegalStateException when it exits non-zero or times out, with its stderr
   */
  public static String run(String... argv) {
    Result r = result(argv);
    if (r.exitCode() != 0) {
      throw new IllegalStateException(
          String.join(" ", argv) + " exited " + r.exitCode() + ": " + r.stderr().trim());
    }
    return r.stdout().trim();
  }

  /** Runs {@code argv} and returns what happened, whatever its exit code. */
  public static Result result(String... argv) {
    File out = null;
    File err = null;
    try {
      // Files, not pipes: a chatty command cannot block on a full pipe while we wait.
      out = File.createTempFile("cmd-out", ".txt");
      err = File.createTempFile("cmd-err", ".txt");
      Process p =
          new ProcessBuilder(argv)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectOutput(out)
              .redirectError(err)
              .start();
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(
            String.join(" ", argv) + " did not finish in " + TIMEOUT_SECONDS + " s");
      }
      return new Result(
          List.of(argv),
          p.exitValue(),
          Files.readString(out.toPath(), StandardCharsets.UTF_8),
          Files.readString(err.toPath(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + String.join(" ", argv) + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + String.join(" ", argv), e);
    } finally {
      if (out != null) {
        out.delete();
      }
      if (err != null) {
        err.delete();
      }
    }
  }

  /** Whether {@code program} is on the PATH (or the sbin directories root has). */
  public static boolean exists(String program) {
    String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin";
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && new File(dir, program).canExecute()) {
        return true;
      }
    }
    return false;
  }
}
