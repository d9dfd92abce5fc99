package dev.imprint.cli;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.JsonDisplay;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.filecopy.FileCopy;
import dev.imprint.engine.filecopy.FileCopyOptions;
import dev.imprint.engine.filecopy.FileCopyProgress;
import dev.imprint.engine.filecopy.FileCopyReport;
import dev.imprint.engine.filecopy.FileCopyVolume;
import dev.imprint.engine.job.Refusal;
import java.io.IOException;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.stream.Materializer;
import org.slf4j.LoggerFactory;

/**
 * {@code restore} without {@code --erase}: asr's file copy. The source's items onto one mounted
 * volume (or a directory, or a partition this run mounts), each replacing the same-named item; the
 * CLI asks, shows progress and turns the report into an exit code; the engine decides.
 */
final class FileCopyRestore {
  /** Lines of failures or differences printed before "and N more". */
  private static final int SHOWN = 20;

  private final String source;
  private final List<String> targets;
  private final boolean noprompt;
  private final FileCopyOptions options;
  private final Display display;

  /** Warnings from the copy threads, shown in order on the command's thread. */
  private final Queue<String> warnings = new ConcurrentLinkedQueue<>();

  FileCopyRestore(
      String source,
      List<String> targets,
      boolean noprompt,
      FileCopyOptions options,
      Display display) {
    this.source = source;
    this.targets = targets;
    this.noprompt = noprompt;
    this.options = options;
    this.display = display;
  }

  int run(Pekko pekko) throws IOException, InterruptedException {
    if (targets.size() != 1) {
      throw new UserError(
          "a file copy (restore without --erase) goes onto one volume, not "
              + targets.size()
              + ": run it once per target, or add --erase to restore block by block onto all");
    }
    String target = targets.get(0);
    display.stepStarted("Validating target");
    try (FileCopyVolume to = refusing(() -> FileCopyVolume.target(target))) {
      display.stepDone("Validating target");
      display.stepStarted("Validating source");
      try (FileCopyVolume from = refusing(() -> FileCopyVolume.source(source))) {
        FileCopy copy =
            new FileCopy(
                from.dir(),
                to.dir(),
                options,
                w -> {
                  LoggerFactory.getLogger(FileCopyRestore.class).warn("{}", w);
                  warnings.add(w);
                });
        refusing(
            () -> {
              copy.check();
              return null;
            });
        display.stepDone("Validating source");
        consent(target, to);
        return copy(copy, pekko, target);
      }
    }
  }

  private interface Step<T> {
    T run() throws Refusal;
  }

  private <T> T refusing(Step<T> step) {
    try {
      return step.run();
    } catch (Refusal r) {
      throw new UserError(r.getMessage());
    }
  }

  private void consent(String target, FileCopyVolume to) throws IOException {
    if (noprompt) {
      return;
    }
    if (!Terminal.interactive()) {
      throw new UserError(
          "no terminal to ask whether to copy onto "
              + target
              + ": add --noprompt (-noprompt) to agree in advance");
    }
    String volume = to.mounted() ? target + " (mounted for this copy)" : target;
    if (!Terminal.confirm(
        "Copy the items of "
            + source
            + " onto "
            + volume
            + "? Items of the same name there are replaced; the others stay.")) {
      throw new UserError("not copied: nothing was written", ExitCode.BAD_INPUT);
    }
  }

  private int copy(FileCopy copy, Pekko pekko, String target)
      throws InterruptedException, IOException {
    Materializer mat = Materializer.matFromSystem(pekko.get());
    CompletableFuture<FileCopyReport> done =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return copy.run(mat);
              } catch (Refusal r) {
                throw new UserError(r.getMessage());
              }
            });
    Main.onInterrupt(copy::cancel);
    FileCopyReport report;
    try {
      FileCopyProgress p = copy.progress();
      while (true) {
        try {
          report = done.get(250, TimeUnit.MILLISECONDS);
          break;
        } catch (TimeoutException tick) {
          show(p);
        } catch (ExecutionException e) {
          if (e.getCause() instanceof UserError u) {
            throw u;
          }
          throw new IOException(e.getCause());
        }
      }
      show(p);
    } finally {
      Main.onInterrupt(null);
    }
    return ended(report, target);
  }

  private void show(FileCopyProgress p) {
    for (String w = warnings.poll(); w != null; w = warnings.poll()) {
      Terminal.err().println("imprint: warning: " + w);
      display.restoreEvent(new RestoreEvent.Warning(w));
    }
    if (!p.counted()) {
      return; // the totals are still being counted
    }
    long total = Math.max(1, p.totalBytes());
    switch (p.phase()) {
      case COPYING -> display.progress("Copying", Math.min(p.bytes(), total), total);
      case VERIFYING -> display.progress("Verifying", Math.min(p.bytes(), total), total);
      default -> {}
    }
  }

  private int ended(FileCopyReport r, String target) {
    for (String f : first(r.failed())) {
      Terminal.err().println("imprint: not copied: " + f);
    }
    more(r.failedCount(), r.failed().size(), "not copied");
    for (String d : first(r.differences())) {
      Terminal.err().println("imprint: differs: " + d);
    }
    more(r.differenceCount(), r.differences().size(), "differ");
    int code;
    String message;
    if ("interrupted".equals(r.stopped())) {
      code = ExitCode.INTERRUPTED;
      message = "interrupted: items already copied stay, none is half-written";
    } else if (r.stopped() != null) {
      code = ExitCode.TARGETS_FAILED;
      message = r.stopped();
    } else if (r.differenceCount() > 0) {
      code = ExitCode.VERIFY_FAILED;
      message =
          r.differenceCount() + " items on " + target + " differ from the source after the copy";
    } else if (r.failedCount() > 0) {
      code = ExitCode.TARGETS_FAILED;
      message = r.failedCount() + " items could not be copied onto " + target;
    } else {
      code = ExitCode.OK;
      message =
          "Copied "
              + r.items()
              + " items ("
              + Sizes.human(r.bytes())
              + ") onto "
              + target
              + (r.verified() ? ", verified" : "")
              + (r.lost().isEmpty() ? "" : "; not kept there: " + String.join(", ", r.lost()));
    }
    if (display instanceof JsonDisplay json) {
      json.finished(code == ExitCode.OK, message, status(code), code);
    } else if (code == ExitCode.OK) {
      display.finished(true, message);
    } else {
      Terminal.err().println("imprint: " + message);
    }
    return code;
  }

  private static String status(int code) {
    return switch (code) {
      case ExitCode.OK -> "succeeded";
      case ExitCode.VERIFY_FAILED -> "verify_failed";
      case ExitCode.INTERRUPTED -> "cancelled";
      default -> "targets_failed";
    };
  }

  private static List<String> first(List<String> lines) {
    return lines.subList(0, Math.min(SHOWN, lines.size()));
  }

  private static void more(long all, int listed, String what) {
    if (all > Math.min(SHOWN, listed)) {
      Terminal.err()
          .println("imprint: ... and " + (all - Math.min(SHOWN, listed)) + " more " + what);
    }
  }
}
