package dev.imprint.cli.station;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.cli.Main;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * {@code imprint station --json} in a process of its own, as a technician (or systemd) runs it: its
 * JSON lines are collected as they come, and tests wait for the ones they expect.
 */
final class StationProcess implements AutoCloseable {
  private final Process process;
  private final List<String> lines = new ArrayList<>();
  private final Path err;

  private StationProcess(Process process, Path err) {
    this.process = process;
    this.err = err;
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                  synchronized (lines) {
                    lines.add(l);
                    lines.notifyAll();
                  }
                }
              } catch (IOException e) {
                // the process ended
              }
            },
            "station-output");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code imprint station --json ARGS} and waits until it watches for drives. */
  static StationProcess start(Path dir, String... args) throws Exception {
    List<String> argv = new ArrayList<>();
    argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    argv.add("-cp");
    argv.add(System.getProperty("java.class.path"));
    argv.add(Main.class.getName());
    argv.add("station");
    argv.add("--json");
    argv.addAll(List.of(args));
    Path err = Files.createTempFile(dir, "station-err", ".txt");
    Process p =
        new ProcessBuilder(argv)
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    StationProcess s = new StationProcess(p, err);
    s.await(l -> l.contains("\"event\":\"watching\""), 120);
    return s;
  }

  /**
   * Starts a station that images {@code source} onto loop devices over files under {@code dir} only
   * (other builds attach loop devices on this machine too), with its audit log at {@code audit}.
   */
  static StationProcess erasing(Path dir, Path source, Path audit, String... more)
      throws Exception {
    List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "--source",
            source.toString(),
            "--erase",
            "--match",
            "backing=" + dir.toAbsolutePath() + "/*",
            "--audit",
            audit.toString()));
    args.addAll(List.of(more));
    return start(dir, args.toArray(String[]::new));
  }

  /** The first line (from the start) that {@code p} accepts, waiting up to {@code seconds}. */
  String await(Predicate<String> p, int seconds) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    synchronized (lines) {
      while (true) {
        for (String l : lines) {
          if (p.test(l)) {
            return l;
          }
        }
        long left = end - System.nanoTime();
        if (left <= 0) {
          fail("no such line within " + seconds + " s; so far:\n" + output());
        }
        lines.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      }
    }
  }

  /** The slot line of {@code device} in {@code state}. */
  String awaitState(Path device, String state, int seconds) throws InterruptedException {
    return await(
        l ->
            l.contains("\"event\":\"slot\"")
                && l.contains("\"device\":\"" + device + "\"")
                && l.contains("\"state\":\"" + state + "\""),
        seconds);
  }

  int exit(int seconds) throws InterruptedException {
    assertTrue(process.waitFor(seconds, TimeUnit.SECONDS), () -> "still running:\n" + output());
    return process.exitValue();
  }

  long pid() {
    return process.pid();
  }

  List<String> lines() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  String output() {
    String e;
    try {
      e = Files.readString(err);
    } catch (IOException x) {
      e = "";
    }
    return String.join("\n", lines()) + "\n--- stderr ---\n" + e;
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
