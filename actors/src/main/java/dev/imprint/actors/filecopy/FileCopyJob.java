package dev.imprint.actors.filecopy;

import dev.imprint.engine.filecopy.FileCopy;
import dev.imprint.engine.filecopy.FileCopyProgress;
import dev.imprint.engine.filecopy.FileCopyReport;
import dev.imprint.engine.job.Refusal;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.Materializer;

/**
 * One file copy (restore without erase) as a job: the copy and its verification run on the blocking
 * dispatcher, the job polls their counters into {@link FileCopyEvent.Progress} events (bytes never
 * pass through a mailbox), forwards warnings, and ends with a {@link Result}. Stopped from outside,
 * or told {@link Cancel}, it stops the copy from handing out items; the items in flight finish, so
 * nothing is left half-written under a real name.
 */
public final class FileCopyJob {
  /** What a front end may tell the job. */
  public sealed interface Command {}

  /** Stop after the items in flight (SIGINT in the CLI). */
  public record Cancel(String why) implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record Finished(FileCopyReport report, Throwable error) implements Command {}

  /** How a job ended; the CLI turns it into its exit code. */
  public enum Status {
    SUCCEEDED,
    TARGETS_FAILED,
    VERIFY_FAILED,
    REFUSED,
    CANCELLED,
    INTERNAL_ERROR
  }

  /** The end of a job: its status, the line a person reads, and the report (null if refused). */
  public record Result(Status status, String message, FileCopyReport report) {}

  private FileCopyJob() {}

  /**
   * A job running {@code copy} (made with {@link #warnings} of {@code replyTo}, or another consumer
   * of the front end's) and telling {@code replyTo} how it goes.
   */
  public static Behavior<Command> create(FileCopy copy, ActorRef<FileCopyEvent> replyTo) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerAtFixedRate(Tick.INSTANCE, Duration.ofMillis(250));
                  Materializer mat = Materializer.createMaterializer(ctx.getSystem());
                  ctx.pipeToSelf(
                      CompletableFuture.supplyAsync(
                          () -> {
                            try {
                              return copy.run(mat);
                            } catch (Refusal r) {
                              throw new CompletionException(r);
                            }
                          },
                          ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking())),
                      Finished::new);
                  FileCopyProgress p = copy.progress();
                  return Behaviors.receive(Command.class)
                      .onMessage(
                          Tick.class,
                          t -> {
                            if (p.counted()) {
                              replyTo.tell(
                                  new FileCopyEvent.Progress(
                                      p.phase(),
                                      Math.min(p.bytes(), p.totalBytes()),
                                      p.totalBytes(),
                                      p.items(),
                                      p.totalItems()));
                            }
                            return Behaviors.same();
                          })
                      .onMessage(
                          Cancel.class,
                          c -> {
                            copy.cancel();
                            return Behaviors.same();
                          })
                      .onMessage(
                          Finished.class,
                          f -> {
                            replyTo.tell(new FileCopyEvent.Ended(result(f, copy.target())));
                            return Behaviors.stopped();
                          })
                      .onSignal(
                          PostStop.class,
                          s -> {
                            copy.cancel(); // stopped from outside: hand out no more items
                            return Behaviors.same();
                          })
                      .build();
                }));
  }

  /** A warnings consumer for {@link FileCopy} that reaches {@code replyTo} (thread-safe). */
  public static java.util.function.Consumer<String> warnings(ActorRef<FileCopyEvent> replyTo) {
    return w -> replyTo.tell(new FileCopyEvent.Warning(w));
  }

  static Result result(Finished f, String target) {
    Throwable e = f.error() instanceof CompletionException c ? c.getCause() : f.error();
    if (e instanceof Refusal r) {
      return new Result(Status.REFUSED, r.getMessage(), null);
    }
    if (e != null) {
      return new Result(
          Status.INTERNAL_ERROR,
          "internal error: the file copy failed (" + e + "), see the log",
          null);
    }
    FileCopyReport r = f.report();
    if ("interrupted".equals(r.stopped())) {
      return new Result(
          Status.CANCELLED, "interrupted: items already copied stay, none is half-written", r);
    }
    if (r.stopped() != null) {
      return new Result(Status.TARGETS_FAILED, r.stopped(), r);
    }
    if (r.differenceCount() > 0) {
      return new Result(
          Status.VERIFY_FAILED,
          r.differenceCount() + " items on " + target + " differ from the source after the copy",
          r);
    }
    if (r.failedCount() > 0) {
      return new Result(
          Status.TARGETS_FAILED, r.failedCount() + " items could not be copied onto " + target, r);
    }
    return new Result(Status.SUCCEEDED, "copied", r);
  }
}
