package dev.imprint.cli;

import dev.imprint.actors.filecopy.FileCopyEvent;
import dev.imprint.actors.filecopy.FileCopyJob;
import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.JsonDisplay;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.filecopy.FileCopy;
import dev.imprint.engine.filecopy.FileCopyOptions;
import dev.imprint.engine.filecopy.FileCopyReport;
import dev.imprint.engine.filecopy.FileCopyVolume;
import dev.imprint.engine.job.Refusal;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.pekko.actor.typed.ActorRef;
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

  /** The job's events and the copy's warnings, shown in order on the command's thread. */
  private final BlockingQueue<FileCopyEvent> events = new LinkedBlockingQueue<>();

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
                  events.add(new FileCopyEvent.Warning(w));
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

  /**
   * Runs the copy as a {@link FileCopyJob} and shows its events on this thread; a job that dies
   * without saying how it ended is exit 70.
   */
  private int copy(FileCopy copy, Pekko pekko, String target) throws InterruptedException {
    CompletableFuture<ActorRef<FileCopyJob.Command>> job =
        JobHost.start(
            pekko.get(),
            "filecopy",
            out -> FileCopyJob.create(copy, out),
            FileCopyEvent.class,
            events::add,
            () ->
                new FileCopyEvent.Ended(
                    new FileCopyJob.Result(
                        FileCopyJob.Status.INTERNAL_ERROR,
                        "internal error: the file copy job stopped (see the log)",
                        null)));
    Main.onInterrupt(() -> job.thenAccept(j -> j.tell(new FileCopyJob.Cancel("interrupted"))));
    try {
      while (true) {
        FileCopyEvent e = events.take();
        if (e instanceof FileCopyEvent.Ended end) {
          return ended(end.result(), target);
        } else if (e instanceof FileCopyEvent.Warning w) {
          Terminal.err().println("imprint: warning: " + w.message());
          display.restoreEvent(new RestoreEvent.Warning(w.message()));
        } else if (e instanceof FileCopyEvent.Progress p) {
          long total = Math.max(1, p.totalBytes());
          switch (p.phase()) {
            case COPYING -> display.progress("Copying", p.bytes(), total);
            case VERIFYING -> display.progress("Verifying", p.bytes(), total);
            default -> {}
          }
        }
      }
    } finally {
      Main.onInterrupt(null);
    }
  }

  private int ended(FileCopyJob.Result result, String target) {
    FileCopyReport r = result.report();
    if (r != null) {
      for (String f : first(r.failed())) {
        Terminal.err().println("imprint: not copied: " + f);
      }
      more(r.failedCount(), r.failed().size(), "not copied");
      for (String d : first(r.differences())) {
        Terminal.err().println("imprint: differs: " + d);
      }
      more(r.differenceCount(), r.differences().size(), "differ");
    }
    int code =
        switch (result.status()) {
          case SUCCEEDED -> ExitCode.OK;
          case TARGETS_FAILED -> ExitCode.TARGETS_FAILED;
          case VERIFY_FAILED -> ExitCode.VERIFY_FAILED;
          case REFUSED -> ExitCode.BAD_INPUT;
          case CANCELLED -> ExitCode.INTERRUPTED;
          case INTERNAL_ERROR -> ExitCode.INTERNAL;
        };
    String message =
        code != ExitCode.OK
            ? result.message()
            : "Copied "
                + r.items()
                + " items ("
                + Sizes.human(r.bytes())
                + ") onto "
                + target
                + (r.verified() ? ", verified" : "")
                + (r.lost().isEmpty() ? "" : "; not kept there: " + String.join(", ", r.lost()));
    if (display instanceof JsonDisplay json) {
      json.finished(code == ExitCode.OK, message, result.status().name(), code);
    } else if (code == ExitCode.OK) {
      display.finished(true, message);
    } else {
      Terminal.err().println("imprint: " + message);
    }
    return code;
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
