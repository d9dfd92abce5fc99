package dev.imprint.actors.restore;

import dev.imprint.engine.device.Mount;
import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.device.TargetCheck;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.job.AfterRestore;
import dev.imprint.engine.job.Refusal;
import dev.imprint.engine.job.RestoreRequest;
import dev.imprint.engine.job.TargetPlanner;
import dev.imprint.engine.partition.Partition;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.RestoreOptions;
import dev.imprint.engine.pipeline.TargetWriter;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One restore job, whatever front end asked for it: checks the targets and the source (before
 * anything is written), asks for consent, unmounts, opens the targets exclusively, runs a {@link
 * RestoreSession}, then grows and mounts back. Front ends send a {@link RestoreRequest} and get
 * {@link RestoreEvent}s, the last one {@link RestoreEvent.JobEnded}. Blocking work runs on the
 * blocking dispatcher; a job without progress for the request's stall limit stops itself.
 */
public final class RestoreJob {
  public sealed interface Command {}

  /** The front end's answer to {@link RestoreEvent.Planned}; {@code refusal} says why not. */
  public record Consent(boolean agreed, String refusal) implements Command {}

  /** Stop the job (SIGINT, a slot unplugged): nothing more is written, targets stay invalid. */
  public record Cancel(String why) implements Command {}

  private record Checked(List<TargetCheck.Plan> plans, ChunkSupply supply, Throwable error)
      implements Command {}

  private record Opened(
      List<TargetWriter> writers, Map<String, List<Mount>> unmounted, Throwable error)
      implements Command {}

  private record FromSession(RestoreEvent event) implements Command {}

  private record SessionStopped() implements Command {}

  private record Ended(Result result) implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  /** How a job ended, which front ends turn into an exit code or a slot's colour. */
  public enum Status {
    SUCCEEDED,
    /** Some targets failed on I/O; the others finished. */
    TARGETS_FAILED,
    /** A target read back differently from the image. */
    VERIFY_FAILED,
    /** Refused before anything was written (bad input, unsafe target, no consent). */
    REFUSED,
    /** The image is damaged (found before or while writing). */
    DAMAGED,
    CANCELLED,
    /** A bug or a stuck job: the log has the details. */
    INTERNAL_ERROR
  }

  /** The job's result: a status, one line for the user, and each target's outcome if it ran. */
  public record Result(Status status, String message, List<RestoreEvent.Outcome> outcomes) {}

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final RestoreRequest request;
  private final ActorRef<RestoreEvent> listener;
  private final TargetPlanner planner;
  private final Executor blocking;
  private final Map<String, Long> lastDone = new HashMap<>();
  private List<TargetCheck.Plan> plans = List.of();
  private ChunkSupply supply;
  private List<TargetWriter> writers = List.of();
  private Map<String, List<Mount>> unmounted = Map.of();
  private ActorRef<RestoreSession.Command> session;
  private long lastActivity = System.nanoTime();
  private String cancelled;
  private boolean stuck;

  private boolean awaitingConsent;

  /** A blocking step is running; its reply moves the job on. */
  private boolean busy;

  /** The session owns the writers and the source now, and closes them. */
  private boolean handedOver;

  /** Read by blocking steps: a job that ended (stuck) no longer takes what they opened. */
  private volatile boolean ended;

  private RestoreJob(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      RestoreRequest request,
      SystemDisks disks,
      ActorRef<RestoreEvent> listener) {
    this.context = context;
    this.timers = timers;
    this.request = request;
    this.listener = listener;
    this.planner = new TargetPlanner(disks);
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
  }

  public static Behavior<Command> create(RestoreRequest request, ActorRef<RestoreEvent> listener) {
    return create(request, new SystemDisks(), listener);
  }

  public static Behavior<Command> create(
      RestoreRequest request, SystemDisks disks, ActorRef<RestoreEvent> listener) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  RestoreJob job = new RestoreJob(ctx, timers, request, disks, listener);
                  return job.start(Precheck.start(request, disks, job.blocking));
                }));
  }

  /** A job whose first step a front end started already ({@link Precheck#start}). */
  public static Behavior<Command> create(
      RestoreRequest request, Precheck precheck, ActorRef<RestoreEvent> listener) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers ->
                    new RestoreJob(ctx, timers, request, new SystemDisks(), listener)
                        .start(precheck)));
  }

  private Behavior<Command> start(Precheck precheck) {
    timers.startTimerAtFixedRate(Tick.INSTANCE, Duration.ofSeconds(1));
    for (String t : request.targets()) {
      listener.tell(new RestoreEvent.StateChanged(t, TargetState.VALIDATING, ""));
    }
    busy = true;
    precheck.attach(listener);
    context.pipeToSelf(
        precheck.outcome(),
        (o, t) ->
            t == null
                ? new Checked(o.plans(), o.supply(), o.error())
                : new Checked(List.of(), null, t));
    return Behaviors.receive(Command.class)
        .onMessage(Checked.class, this::onChecked)
        .onMessage(Consent.class, this::onConsent)
        .onMessage(Opened.class, this::onOpened)
        .onMessage(FromSession.class, this::onSessionEvent)
        .onMessage(SessionStopped.class, s -> onSessionStopped())
        .onMessage(Ended.class, e -> end(e.result()))
        .onMessage(Cancel.class, this::onCancel)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onSignal(PostStop.class, s -> released())
        .build();
  }

  private Behavior<Command> onChecked(Checked c) {
    busy = false;
    plans = c.plans();
    supply = c.supply();
    if (c.error() != null) {
      return end(failure(c.error()));
    }
    if (cancelled != null) {
      return end(cancelledResult());
    }
    List<RestoreEvent.TargetToErase> list = new ArrayList<>();
    for (TargetCheck.Plan p : plans) {
      List<String> mounts = new ArrayList<>();
      for (Mount m : p.mounts()) {
        mounts.add(m.device() + " from " + m.mountPoint());
      }
      list.add(
          new RestoreEvent.TargetToErase(
              p.spec(), p.path().toString(), p.model(), p.size(), mounts));
    }
    listener.tell(new RestoreEvent.Planned(list, !request.consented()));
    // A person may take their time to answer: that is no stall.
    awaitingConsent = !request.consented();
    return request.consented() ? open() : Behaviors.same();
  }

  private Behavior<Command> onConsent(Consent c) {
    if (supply == null || session != null || !writers.isEmpty() || ended) {
      return Behaviors.same();
    }
    awaitingConsent = false;
    if (!c.agreed()) {
      return end(
          new Result(
              Status.REFUSED,
              c.refusal() == null ? "not erased: nothing was written" : c.refusal(),
              List.of()));
    }
    return open();
  }

  /** Sizes, then unmounting, then exclusive opens: the last checks before the first write. */
  private Behavior<Command> open() {
    lastActivity = System.nanoTime();
    busy = true;
    context.pipeToSelf(
        CompletableFuture.supplyAsync(
            () -> {
              Map<String, List<Mount>> gone = new LinkedHashMap<>();
              try {
                step("Validating sizes");
                planner.checkSizes(plans, supply, request.source());
                AfterRestore.checkNewIds(request, TargetPlanner.headerOf(supply));
                stepDone("Validating sizes");
                for (TargetCheck.Plan p : plans) {
                  if (!p.mounts().isEmpty()) {
                    step("Unmounting " + p.spec());
                    gone.put(p.spec(), planner.unmount(p));
                    stepDone("Unmounting " + p.spec());
                  }
                }
                List<TargetWriter> w =
                    planner.open(
                        plans, supply, request.source(), request.buffered(), request.discard());
                if (ended) {
                  // Given up on meanwhile (stuck): release the O_EXCL holds at once.
                  closeAll(w, null);
                  return new Opened(List.of(), gone, null);
                }
                return new Opened(w, gone, null);
              } catch (IOException | RuntimeException e) {
                stepFailedLast();
                // Refused after unmounting: nothing was written, so what was mounted goes back.
                for (List<Mount> ms : gone.values()) {
                  for (Mount m : ms) {
                    try {
                      planner.disks().mount(m);
                    } catch (IOException again) {
                      listener.tell(
                          new RestoreEvent.Warning(
                              "could not mount "
                                  + m.device()
                                  + " back on "
                                  + m.mountPoint()
                                  + ": "
                                  + again.getMessage()));
                    }
                  }
                }
                return new Opened(List.of(), Map.of(), e);
              }
            },
            blocking),
        (o, t) -> t == null ? o : new Opened(List.of(), Map.of(), t));
    return Behaviors.same();
  }

  private Behavior<Command> onOpened(Opened o) {
    busy = false;
    unmounted = o.unmounted();
    if (o.error() != null) {
      return end(failure(o.error()));
    }
    writers = o.writers();
    if (cancelled != null) {
      return end(cancelledResult());
    }
    int cores = Runtime.getRuntime().availableProcessors();
    int parallelism =
        request.parallelism() > 0
            ? request.parallelism()
            : Math.max(
                cores + 1, request.source().isHttp() ? request.source().http().connections() : 0);
    RestoreSession.Job job =
        new RestoreSession.Job(
            supply,
            writers,
            new RestoreOptions(
                parallelism,
                RestoreOptions.DEFAULT_HELD_REGION,
                TargetPlanner.tableFix(supply, request.source(), request.growLast())),
            request.verify(),
            Math.max(4 << 20, supply.chunkSize()));
    ActorRef<RestoreEvent> adapter = context.messageAdapter(RestoreEvent.class, FromSession::new);
    session = context.spawn(RestoreSession.create(job, adapter), "session");
    handedOver = true;
    context.watchWith(session, new SessionStopped());
    lastActivity = System.nanoTime();
    return Behaviors.same();
  }

  private Behavior<Command> onSessionEvent(FromSession f) {
    RestoreEvent e = f.event();
    if (e instanceof RestoreEvent.Progress p) {
      Long before = lastDone.put(p.target() + "/" + p.phase(), p.done());
      if (before == null || before != p.done()) {
        lastActivity = System.nanoTime();
      }
    } else {
      lastActivity = System.nanoTime();
    }
    listener.tell(e);
    if (e instanceof RestoreEvent.Finished done) {
      session = null;
      return afterSession(done);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onSessionStopped() {
    if (session != null && !ended) {
      // Stopped without its Finished: a bug. Every target counts as failed; nothing is valid.
      session = null;
      closeWriters();
      return end(
          new Result(
              Status.INTERNAL_ERROR,
              "internal error: the restore session stopped without a result (see the log)",
              List.of()));
    }
    return Behaviors.same();
  }

  /** Every target has an outcome: summarize, then grow and mount back where that applies. */
  private Behavior<Command> afterSession(RestoreEvent.Finished f) {
    Result r = summarize(f);
    boolean someDone = f.outcomes().stream().anyMatch(o -> o.state() == TargetState.DONE);
    // New ids go to every target restored and verified, even when another target failed.
    boolean renew =
        request.newIds()
            && someDone
            && (r.status() == Status.TARGETS_FAILED || r.status() == Status.VERIFY_FAILED);
    if (r.status() != Status.SUCCEEDED && !renew) {
      return end(r);
    }
    busy = true;
    ChunkSupply source = supply;
    List<TargetWriter> opened = writers;
    context.pipeToSelf(
        CompletableFuture.supplyAsync(() -> finishing(r, source, opened), blocking),
        (res, t) ->
            new Ended(
                t == null
                    ? res
                    : new Result(Status.INTERNAL_ERROR, "internal error: " + t, r.outcomes())));
    return Behaviors.same();
  }

  private Result finishing(Result r, ChunkSupply supply, List<TargetWriter> writers) {
    Result out = r;
    // The target sessions close their writers as they stop, on other threads: growing or mounting
    // a target still held open (O_EXCL) would fail as busy, so make sure they are closed first.
    for (TargetWriter w : writers) {
      try {
        w.close();
      } catch (IOException e) {
        org.slf4j.LoggerFactory.getLogger(RestoreJob.class)
            .warn("closing {}: {}", w.name(), e.getMessage());
      }
    }
    boolean succeeded = r.status() == Status.SUCCEEDED;
    if (succeeded && (request.grow() || request.growLast())) {
      ImageHeader h = TargetPlanner.headerOf(supply);
      Partition part = AfterRestore.partitionToGrow(h, request.source(), request.growLast());
      if (part == null) {
        listener.tell(
            new RestoreEvent.Note(
                h == null
                    ? "Not growing: only Imprint images record their filesystems"
                    : "Not growing: the image records no filesystem to grow"));
      } else {
        for (TargetCheck.Plan p : plans) {
          String step = "Growing filesystem on " + p.spec();
          step(step);
          try {
            String how = AfterRestore.grow(p.path(), h, part, request.growLast());
            stepDone(step);
            listener.tell(new RestoreEvent.Note(how));
          } catch (IOException e) {
            stepFailed(step);
            out = new Result(Status.TARGETS_FAILED, p.spec() + ": " + e.getMessage(), r.outcomes());
          }
        }
      }
    }
    if (request.newIds()) {
      for (TargetCheck.Plan p : plans) {
        boolean done =
            r.outcomes().stream()
                .anyMatch(o -> o.target().equals(p.spec()) && o.state() == TargetState.DONE);
        if (!done) {
          continue;
        }
        String step = "New ids for " + p.spec();
        step(step);
        try {
          var ids = AfterRestore.newIds(p.path());
          stepDone(step);
          listener.tell(new RestoreEvent.IdsRenewed(p.spec(), ids));
          for (String n : ids.notes()) {
            listener.tell(new RestoreEvent.Note(p.spec() + ": " + n));
          }
        } catch (IOException | RuntimeException e) {
          stepFailed(step);
          org.slf4j.LoggerFactory.getLogger(RestoreJob.class).warn("new ids", e);
          if (out.status() == Status.SUCCEEDED) {
            out =
                new Result(
                    Status.TARGETS_FAILED,
                    p.spec() + ": restored and verified, but " + e.getMessage(),
                    r.outcomes());
          }
        }
      }
    }
    for (TargetCheck.Plan p : plans) {
      if (!succeeded) {
        break;
      }
      boolean back =
          switch (request.remount()) {
            case ALL -> true;
            case NONE -> false;
            case NAMED_MOUNT_POINTS -> p.namedMountPoint() != null;
          };
      if (!back) {
        continue;
      }
      for (Mount m : unmounted.getOrDefault(p.spec(), List.of())) {
        String step = "Remounting target volume " + m.device() + " on " + m.mountPoint();
        step(step);
        try {
          planner.disks().mount(m);
          stepDone(step);
        } catch (IOException e) {
          stepFailed(step);
          out = new Result(Status.TARGETS_FAILED, e.getMessage(), r.outcomes());
        }
      }
    }
    return out;
  }

  private Result summarize(RestoreEvent.Finished f) {
    int failed = 0;
    int verifyFailed = 0;
    for (RestoreEvent.Outcome o : f.outcomes()) {
      if (o.state() != TargetState.DONE) {
        if (o.verifyFailed()) {
          verifyFailed++;
        } else {
          failed++;
        }
      }
    }
    int n = f.outcomes().size();
    if (failed == 0 && verifyFailed == 0) {
      return new Result(Status.SUCCEEDED, "Restore completed successfully.", f.outcomes());
    }
    StringBuilder b =
        new StringBuilder(
            (cancelled != null ? "Restore cancelled (" + cancelled + ") on " : "Restore failed on ")
                + (failed + verifyFailed)
                + " of "
                + n
                + " target"
                + (n == 1 ? "" : "s")
                + ":");
    for (RestoreEvent.Outcome o : f.outcomes()) {
      b.append("\n  ").append(o.target()).append(": ");
      b.append(o.state() == TargetState.DONE ? "restored and verified" : o.detail());
    }
    Status s =
        stuck
            ? Status.INTERNAL_ERROR
            : cancelled != null
                ? Status.CANCELLED
                : f.sourceDamaged()
                    ? Status.DAMAGED
                    : failed > 0 ? Status.TARGETS_FAILED : Status.VERIFY_FAILED;
    return new Result(s, b.toString(), f.outcomes());
  }

  private Behavior<Command> onCancel(Cancel c) {
    if (ended || cancelled != null) {
      return Behaviors.same();
    }
    cancelled = c.why();
    if (session != null) {
      session.tell(new RestoreSession.Cancel(c.why()));
      return Behaviors.same();
    }
    if (!busy) {
      // Waiting for consent: nothing was touched.
      return end(cancelledResult());
    }
    // A blocking step is running: its reply ends the job.
    return Behaviors.same();
  }

  private Behavior<Command> onTick() {
    if (awaitingConsent) {
      lastActivity = System.nanoTime();
      return Behaviors.same();
    }
    long idle = System.nanoTime() - lastActivity;
    if (!stuck && idle > request.stallLimit().toNanos() + retryAllowance()) {
      stuck = true;
      String why = "no progress for " + Duration.ofNanos(idle).toSeconds() + " s: the job is stuck";
      context.getLog().error("restore job: {}", why);
      if (session != null) {
        cancelled = why;
        session.tell(new RestoreSession.Cancel(why));
        return Behaviors.same();
      }
      return end(new Result(Status.INTERNAL_ERROR, "internal error: " + why, List.of()));
    }
    return Behaviors.same();
  }

  /** An HTTP source may legitimately wait this long on its server before it gives up. */
  private long retryAllowance() {
    return request.source().isHttp() ? request.source().http().retryBudget().toNanos() : 0;
  }

  private Result cancelledResult() {
    return new Result(
        Status.CANCELLED, "cancelled (" + cancelled + "): nothing was written", List.of());
  }

  private Result failure(Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof Refusal r) {
      return new Result(
          r.problem() == Refusal.Problem.DAMAGED ? Status.DAMAGED : Status.REFUSED,
          r.getMessage(),
          List.of());
    }
    if (t instanceof IOException io) {
      return new Result(Status.REFUSED, io.getMessage(), List.of());
    }
    context.getLog().error("restore job failed", t);
    return new Result(Status.INTERNAL_ERROR, "internal error: " + t + " (see the log)", List.of());
  }

  private Behavior<Command> end(Result r) {
    if (ended) {
      return Behaviors.same();
    }
    ended = true;
    closeWriters();
    listener.tell(new RestoreEvent.JobEnded(r));
    return Behaviors.stopped();
  }

  /** Whatever ended the job, nothing it opened stays open. */
  private Behavior<Command> released() {
    if (!ended) {
      listener.tell(
          new RestoreEvent.JobEnded(
              new Result(
                  Status.INTERNAL_ERROR,
                  "internal error: the restore job stopped unexpectedly (see the log)",
                  List.of())));
    }
    closeWriters();
    return Behaviors.same();
  }

  /** Writers not handed to a session (refused, cancelled) and the source: closed off-thread. */
  private void closeWriters() {
    List<TargetWriter> w = writers;
    ChunkSupply s = supply;
    writers = List.of();
    supply = null;
    if (!handedOver) {
      CompletableFuture.runAsync(() -> closeAll(w, s), blocking);
    }
  }

  private void closeAll(List<TargetWriter> w, ChunkSupply s) {
    var log = org.slf4j.LoggerFactory.getLogger(RestoreJob.class);
    for (TargetWriter x : w) {
      try {
        x.close();
      } catch (IOException e) {
        log.warn("closing {}: {}", x.name(), e.getMessage());
      }
    }
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        log.warn("closing the source: {}", e.getMessage());
      }
    }
  }

  private void step(String name) {
    lastStep = name;
    listener.tell(new RestoreEvent.Step(name, RestoreEvent.StepStatus.STARTED));
  }

  private void stepDone(String name) {
    lastStep = null;
    listener.tell(new RestoreEvent.Step(name, RestoreEvent.StepStatus.DONE));
  }

  private void stepFailed(String name) {
    lastStep = null;
    listener.tell(new RestoreEvent.Step(name, RestoreEvent.StepStatus.FAILED));
  }

  private void stepFailedLast() {
    String s = lastStep;
    if (s != null) {
      stepFailed(s);
    }
  }

  /** The step started last and not ended (steps run one at a time, on one blocking thread). */
  private volatile String lastStep;
}
