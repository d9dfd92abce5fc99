package dev.imprint.actors.restore;

import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.device.TargetCheck;
import dev.imprint.engine.job.RestoreRequest;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.job.TargetPlanner;
import dev.imprint.engine.pipeline.ChunkSupply;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A restore job's first step: the targets inspected, then the source opened (its header and index
 * read and checked), all before consent and read-only. It needs no actor, so a front end can start
 * it before the actor system is up ({@link #start} on a thread of its own) and hand it to {@link
 * RestoreJob#create(RestoreRequest, Precheck, ActorRef)}: on a small restore the system's start and
 * this step then overlap (the sample restore's job began ~40 ms sooner), and an HTTP or multicast
 * source's round trips run while the system starts. The step's events wait here until the job
 * attaches its listener, then go straight to it, in order.
 */
public final class Precheck {
  /** What the step found; {@code supply} is open when not null (the job owns it then). */
  record Outcome(List<TargetCheck.Plan> plans, ChunkSupply supply, Throwable error) {}

  private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
  private final List<RestoreEvent> held = new ArrayList<>();
  private ActorRef<RestoreEvent> listener;

  private Precheck() {}

  /** Starts the step for {@code request} on {@code on}. */
  public static Precheck start(RestoreRequest request, SystemDisks disks, Executor on) {
    Precheck p = new Precheck();
    on.execute(
        () -> {
          try {
            p.outcome.complete(p.run(request, new TargetPlanner(disks)));
          } catch (Throwable t) { // an Error: the job ends with it instead of waiting
            p.outcome.completeExceptionally(t);
            throw t;
          }
        });
    return p;
  }

  /** Starts the step on a daemon thread of its own (a front end whose actor system is starting). */
  public static Precheck start(RestoreRequest request) {
    return start(
        request,
        new SystemDisks(),
        r -> {
          Thread t = new Thread(r, "imprint-precheck");
          t.setDaemon(true);
          t.start();
        });
  }

  CompletableFuture<Outcome> outcome() {
    return outcome;
  }

  /** The events said so far go to {@code to} now, the later ones as they come. */
  synchronized void attach(ActorRef<RestoreEvent> to) {
    for (RestoreEvent e : held) {
      to.tell(e);
    }
    held.clear();
    listener = to;
  }

  private synchronized void tell(RestoreEvent e) {
    if (listener == null) {
      held.add(e);
    } else {
      listener.tell(e);
    }
  }

  /** Targets first (cheap, local), then the source (may be a network). */
  private Outcome run(RestoreRequest request, TargetPlanner planner) {
    List<TargetCheck.Plan> found = new ArrayList<>();
    ChunkSupply opened = null;
    String step = "Validating target";
    try {
      started(step);
      for (String t : request.targets()) {
        found.add(planner.inspect(t));
      }
      planner.checkDistinct(found, request.source());
      done(step);
      step = "Validating source";
      started(step);
      opened = SourceOpener.open(request.source());
      done(step);
      return new Outcome(found, opened, null);
    } catch (IOException | RuntimeException e) {
      tell(new RestoreEvent.Step(step, RestoreEvent.StepStatus.FAILED));
      return new Outcome(found, opened, e);
    }
  }

  private void started(String step) {
    tell(new RestoreEvent.Step(step, RestoreEvent.StepStatus.STARTED));
  }

  private void done(String step) {
    tell(new RestoreEvent.Step(step, RestoreEvent.StepStatus.DONE));
  }
}
