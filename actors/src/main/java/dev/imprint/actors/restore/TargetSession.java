package dev.imprint.actors.restore;

import dev.imprint.engine.pipeline.Chunk;
import dev.imprint.engine.pipeline.RestorePipeline;
import dev.imprint.engine.pipeline.TargetWriter;
import dev.imprint.engine.pipeline.Verifier;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One target of a restore: erasing -> writing -> verifying -> done | failed. It owns the target's
 * state and reports it; the bytes move through the session's stream, never through this mailbox.
 */
public final class TargetSession {
  public sealed interface Command {}

  /** Wipe the old contents; the session replies with nothing until {@link Erased}. */
  public record Erase(long imageSize) implements Command {}

  /** Writing has begun: start reporting progress against {@code total} bytes. */
  public record Writing(long total) implements Command {}

  /** The session's stream has ended; verify (or not) what was written. */
  public record WriteEnded(boolean verify, List<Chunk.Range> ranges) implements Command {}

  /** Stop now (the job was cancelled): the target is left not looking like a valid disk. */
  public record Cancel(String why) implements Command {}

  private record VerifyPlanned(List<Chunk.Range> ranges, IOException error) implements Command {}

  private record EraseResult(IOException error) implements Command {}

  private record Verified(Optional<Verifier.Mismatch> mismatch, Throwable error)
      implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private final ActorContext<Command> context;
  private final TargetWriter writer;
  private final ActorRef<RestoreSession.Command> session;
  private final ActorRef<RestoreEvent> listener;
  private final Verifier verifier;
  private final TimerScheduler<Command> timers;
  private final Executor blocking;
  private final AtomicLong verified = new AtomicLong();
  private TargetState state = TargetState.VALIDATING;
  private long total;
  private long verifyTotal;
  private long lastBytes;
  private long lastNanos = System.nanoTime();

  private TargetSession(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      TargetWriter writer,
      ActorRef<RestoreSession.Command> session,
      ActorRef<RestoreEvent> listener,
      Verifier verifier) {
    this.context = context;
    this.timers = timers;
    this.writer = writer;
    this.session = session;
    this.listener = listener;
    this.verifier = verifier;
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
  }

  public static Behavior<Command> create(
      TargetWriter writer,
      ActorRef<RestoreSession.Command> session,
      ActorRef<RestoreEvent> listener,
      Verifier verifier) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers ->
                    new TargetSession(ctx, timers, writer, session, listener, verifier)
                        .behavior()));
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(Erase.class, this::onErase)
        .onMessage(EraseResult.class, this::onErased)
        .onMessage(Writing.class, this::onWriting)
        .onMessage(WriteEnded.class, this::onWriteEnded)
        .onMessage(VerifyPlanned.class, this::onVerifyPlanned)
        .onMessage(Verified.class, this::onVerified)
        .onMessage(Cancel.class, c -> fail("cancelled: " + c.why(), false))
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onSignal(PostStop.class, s -> release())
        .build();
  }

  private Behavior<Command> onErase(Erase e) {
    moveTo(TargetState.ERASING, "");
    CompletableFuture<IOException> erased =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                writer.erase(e.imageSize());
                return null;
              } catch (IOException ex) {
                return ex;
              }
            },
            blocking);
    context.pipeToSelf(
        erased,
        (err, t) ->
            new EraseResult(
                err != null ? err : t == null ? null : new IOException(t.getMessage(), t)));
    return Behaviors.same();
  }

  private Behavior<Command> onErased(EraseResult r) {
    if (state.terminal()) {
      return Behaviors.same();
    }
    if (r.error() != null) {
      writer.fail(r.error());
      return fail(r.error().getMessage(), false);
    }
    session.tell(new RestoreSession.TargetErased(writer.name()));
    return Behaviors.same();
  }

  private Behavior<Command> onWriting(Writing w) {
    total = w.total();
    moveTo(TargetState.WRITING, "");
    timers.startTimerAtFixedRate(Tick.INSTANCE, Duration.ofMillis(250));
    return Behaviors.same();
  }

  private Behavior<Command> onTick() {
    if (state == TargetState.WRITING) {
      if (writer.failed()) {
        // Fails alone and at once; the stream goes on for the others without it.
        return fail(writer.failure().getMessage(), false);
      }
      report(writer.written(), total);
    } else if (state == TargetState.VERIFYING) {
      report(verified.get(), verifyTotal);
    }
    return Behaviors.same();
  }

  private void report(long done, long of) {
    long now = System.nanoTime();
    double rate = (done - lastBytes) * 1e9 / Math.max(1, now - lastNanos);
    lastBytes = done;
    lastNanos = now;
    listener.tell(new RestoreEvent.Progress(writer.name(), state, done, of, rate));
  }

  private Behavior<Command> onWriteEnded(WriteEnded w) {
    if (state.terminal()) {
      return Behaviors.same();
    }
    if (writer.failed()) {
      return fail(writer.failure().getMessage(), false);
    }
    report(writer.written(), writer.written());
    if (!w.verify()) {
      return succeed();
    }
    // Asks the device its size: blocking, so not on this actor's thread.
    context.pipeToSelf(
        CompletableFuture.supplyAsync(
            () -> {
              if (writer.behind() != null) {
                writer.behind().stop(); // already, unless the table step was skipped
              }
              try {
                return writer.verifyRanges(w.ranges());
              } catch (IOException e) {
                throw new CompletionException(e);
              }
            },
            blocking),
        (ranges, t) -> new VerifyPlanned(ranges, t == null ? null : RestorePipeline.asIo(t)));
    return Behaviors.same();
  }

  private Behavior<Command> onVerifyPlanned(VerifyPlanned p) {
    if (state.terminal()) {
      return Behaviors.same();
    }
    if (p.error() != null) {
      return fail("verification could not read the target: " + p.error().getMessage(), false);
    }
    verifyTotal = Verifier.bytesToRead(p.ranges());
    // What was read back while writing counts as verified from the start.
    verified.set(writer.behind() == null ? 0 : writer.behind().checkedBytes());
    lastBytes = 0;
    lastNanos = System.nanoTime();
    moveTo(TargetState.VERIFYING, "");
    context.pipeToSelf(
        verifier.verify(
            writer.device(), p.ranges(), (done, of) -> verified.set(done), writer.behind()),
        (m, t) -> new Verified(m, t));
    return Behaviors.same();
  }

  private Behavior<Command> onVerified(Verified v) {
    if (state.terminal()) {
      return Behaviors.same();
    }
    if (v.error() != null) {
      return fail(
          "verification could not read the target: " + RestorePipeline.asIo(v.error()).getMessage(),
          false);
    }
    if (v.mismatch().isPresent()) {
      Verifier.Mismatch m = v.mismatch().get();
      return fail(
          "verification failed at byte " + m.offset() + " of " + writer.name() + ": " + m.what(),
          true);
    }
    report(verifyTotal, verifyTotal);
    return succeed();
  }

  private Behavior<Command> succeed() {
    moveTo(TargetState.DONE, "");
    session.tell(
        new RestoreSession.TargetFinished(
            new RestoreEvent.Outcome(
                writer.name(), TargetState.DONE, "", false, writer.written())));
    return stop();
  }

  private Behavior<Command> fail(String why, boolean verifyFailed) {
    if (state.terminal()) {
      return Behaviors.same();
    }
    writer.fail(new IOException(why));
    moveTo(TargetState.FAILED, why);
    session.tell(
        new RestoreSession.TargetFinished(
            new RestoreEvent.Outcome(
                writer.name(), TargetState.FAILED, why, verifyFailed, writer.written())));
    return stop();
  }

  private Behavior<Command> stop() {
    timers.cancelAll();
    return Behaviors.stopped();
  }

  /**
   * However this session stops (done, failed, cancelled, or killed by an exception), its writer is
   * closed: no O_EXCL descriptor or writer threads outlive it. Closing flushes, so it runs on the
   * blocking dispatcher.
   */
  private Behavior<Command> release() {
    if (!state.terminal()) {
      writer.fail(new IOException(writer.name() + ": its session stopped"));
    }
    var log = context.getLog();
    boolean invalidate = state != TargetState.DONE;
    CompletableFuture.runAsync(
        () -> {
          try {
            if (invalidate) {
              // Failed after its tables were written (a verify mismatch, cancelled while
              // verifying): it must not look like a valid disk either.
              writer.invalidate();
            }
          } catch (IOException e) {
            log.warn("wiping {} after its failure: {}", writer.name(), e.getMessage());
          }
          try {
            writer.close();
          } catch (IOException e) {
            log.warn("closing {}: {}", writer.name(), e.getMessage());
          }
        },
        blocking);
    return Behaviors.same();
  }

  private void moveTo(TargetState next, String detail) {
    state = next;
    context.getLog().info("{}: {} {}", writer.name(), next, detail);
    listener.tell(new RestoreEvent.StateChanged(writer.name(), next, detail));
  }
}
