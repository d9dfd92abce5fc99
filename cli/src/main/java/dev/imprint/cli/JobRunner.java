package dev.imprint.cli;

import dev.imprint.actors.restore.Precheck;
import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.RestoreJob;
import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.JsonDisplay;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.job.RestoreRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * One {@link RestoreJob} run for a command ({@code restore}, each job of {@code batch}): its events
 * go to a consumer in the order the job sent them, and a job that stops without saying {@link
 * RestoreEvent.JobEnded} still ends with one (an internal error), so a front end never hangs.
 */
final class JobRunner {
  private final CompletableFuture<ActorRef<RestoreJob.Command>> job = new CompletableFuture<>();

  private JobRunner() {}

  /** Starts {@code request}; {@code events} is called on an actor thread, one event at a time. */
  static JobRunner start(
      ActorSystem<Void> system, RestoreRequest request, Consumer<RestoreEvent> events) {
    return start(system, request, null, events);
  }

  /** The same, for a job whose first step {@code precheck} (not null) runs already. */
  static JobRunner start(
      ActorSystem<Void> system,
      RestoreRequest request,
      Precheck precheck,
      Consumer<RestoreEvent> events) {
    JobRunner runner = new JobRunner();
    JobHost.start(
            system,
            "restore",
            out ->
                precheck == null
                    ? RestoreJob.create(request, out)
                    : RestoreJob.create(request, precheck, out),
            RestoreEvent.class,
            events,
            // The job always says JobEnded before it stops; this is the backstop.
            () ->
                new RestoreEvent.JobEnded(
                    new RestoreJob.Result(
                        RestoreJob.Status.INTERNAL_ERROR,
                        "internal error: the restore job stopped (see the log)",
                        List.of())))
        .thenAccept(runner.job::complete);
    return runner;
  }

  /** Sends the job a command once it has started (a consent, a cancel). */
  void tell(RestoreJob.Command c) {
    job.thenAccept(j -> j.tell(c));
  }

  void cancel(String why) {
    tell(new RestoreJob.Cancel(why));
  }

  /**
   * How long a front end waits for any event before it gives the job up as stuck: the job's own
   * stall limit, an HTTP source's retry budget, and a minute more (the job stops itself first).
   */
  static long silenceMillis(RestoreRequest request) {
    return request.stallLimit().toMillis()
        + (request.source().isHttp() || request.source().isServer()
            ? request.source().http().retryBudget().toMillis()
            : 0)
        + 60_000;
  }

  /**
   * Shows the events every front end shows the same way (steps, notes, warnings, the plan; the rest
   * goes to the display as is) and notes each planned target's model for the display.
   *
   * @param warningPrefix put before a warning on standard error (a batch job's name), or ""
   */
  static void show(
      RestoreEvent e, Display display, Map<String, String> models, String warningPrefix) {
    if (e instanceof RestoreEvent.Step s) {
      switch (s.status()) {
        case STARTED -> display.stepStarted(s.name());
        case DONE -> display.stepDone(s.name());
        case FAILED -> display.stepFailed(s.name());
      }
    } else if (e instanceof RestoreEvent.Note n) {
      display.note(n.message());
    } else if (e instanceof RestoreEvent.Warning w) {
      Terminal.err().println("imprint: warning: " + warningPrefix + w.message());
      display.restoreEvent(e);
    } else if (e instanceof RestoreEvent.IdsRenewed n && !(display instanceof JsonDisplay)) {
      display.note(newIds(n));
    } else if (e instanceof RestoreEvent.Planned p) {
      for (RestoreEvent.TargetToErase t : p.targets()) {
        models.put(t.target(), t.model() + (t.size() > 0 ? ", " + Sizes.human(t.size()) : ""));
      }
      display.restoreEvent(e);
    } else {
      display.restoreEvent(e);
    }
  }

  /** One line: "New ids for T: disk GUID; partition 1 GUID, vfat ABCD-1234; ...". */
  static String newIds(RestoreEvent.IdsRenewed n) {
    StringBuilder b = new StringBuilder("New ids for " + n.target() + ":");
    if (!n.ids().diskId().isEmpty()) {
      b.append(" disk ").append(n.ids().diskId());
    }
    for (var v : n.ids().volumes()) {
      b.append(b.charAt(b.length() - 1) == ':' ? " " : "; ");
      b.append(v.number() == 0 ? "volume" : "partition " + v.number());
      if (!v.partitionGuid().isEmpty()) {
        b.append(' ').append(v.partitionGuid());
      }
      if (!v.uuid().isEmpty()) {
        b.append(", ").append(v.filesystem()).append(' ').append(v.uuid());
      }
    }
    return b.toString();
  }

  /** The exit code of a job that ended so (README, "Exit codes"). */
  static int exitCode(RestoreJob.Status s) {
    return switch (s) {
      case SUCCEEDED -> ExitCode.OK;
      case TARGETS_FAILED -> ExitCode.TARGETS_FAILED;
      case REFUSED -> ExitCode.BAD_INPUT;
      case VERIFY_FAILED -> ExitCode.VERIFY_FAILED;
      case DAMAGED -> ExitCode.DAMAGED;
      case CANCELLED -> ExitCode.INTERRUPTED;
      case INTERNAL_ERROR -> ExitCode.INTERNAL;
    };
  }
}
