package dev.imprint.cli;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Runs one job actor (a restore, a file copy, a station) for a front end: a small guardian spawns
 * and watches it and hands each event it sends to a consumer in order. A job that stops without its
 * last event still ends with one (the backstop, an internal error), so a front end waiting for the
 * end never hangs.
 */
public final class JobHost {
  private JobHost() {}

  /**
   * @param name the guardian's name prefix
   * @param job the job's behaviour, given where to send its events
   * @param events the job's event type
   * @param sink called on an actor thread, one event at a time
   * @param backstop the last event, should the job stop without sending one
   * @return the job, once it has started
   */
  public static <C, E> CompletableFuture<ActorRef<C>> start(
      ActorSystem<?> system,
      String name,
      Function<ActorRef<E>, Behavior<C>> job,
      Class<E> events,
      Consumer<E> sink,
      Supplier<E> backstop) {
    CompletableFuture<ActorRef<C>> started = new CompletableFuture<>();
    // The backstop once, whichever comes first: the job stopping, or the whole actor system (a
    // fatal error such as running out of heap stops it without the job's Terminated signal).
    AtomicBoolean ended = new AtomicBoolean();
    Runnable stop =
        () -> {
          if (ended.compareAndSet(false, true)) {
            sink.accept(backstop.get());
          }
        };
    // A fatal error in an actor stops the system, and an actor stuck in it can keep the system
    // from ever terminating: the end is said as soon as the shutdown begins.
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeServiceUnbind(),
            name + "-ends",
            () -> {
              stop.run();
              return CompletableFuture.completedFuture(Done.getInstance());
            });
    system.getWhenTerminated().thenRun(stop);
    system.systemActorOf(
        Behaviors.<E>setup(
            ctx -> {
              ActorRef<C> j = ctx.spawn(job.apply(ctx.getSelf()), "job");
              ctx.watch(j);
              started.complete(j);
              return Behaviors.receive(events)
                  .onMessage(
                      events,
                      e -> {
                        sink.accept(e);
                        return Behaviors.same();
                      })
                  .onSignal(
                      Terminated.class,
                      t -> {
                        stop.run();
                        return Behaviors.stopped();
                      })
                  .build();
            }),
        name + "-" + System.nanoTime(),
        Props.empty());
    return started;
  }
}
