package dev.imprint.actors.restore;

import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.pipeline.Chunk;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.RestoreOptions;
import dev.imprint.engine.pipeline.RestorePipeline;
import dev.imprint.engine.pipeline.TargetWriter;
import dev.imprint.engine.pipeline.Verifier;
import dev.imprint.engine.pipeline.VerifyBehind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.Materializer;

/**
 * The writing half of a restore job: spawns a {@link TargetSession} per target, runs the one stream
 * that reads the source and feeds every target, and reports each target's outcome. A target that
 * fails (or whose session dies) is marked failed and the others go on; when none is left, the
 * stream stops reading the source at once. {@link Cancel} stops everything, leaving every target
 * not looking like a valid disk.
 */
public final class RestoreSession {
  public sealed interface Command {}

  /** A target's old contents are wiped; a target that failed to erase reports its outcome. */
  public record TargetErased(String target) implements Command {}

  public record TargetFinished(RestoreEvent.Outcome outcome) implements Command {}

  /** Stop reading, writing and verifying; every unfinished target fails with {@code why}. */
  public record Cancel(String why) implements Command {}

  private record TargetStopped(String target) implements Command {}

  private record WriteDone(RestorePipeline.Written written, Throwable error) implements Command {}

  /** What the session needs: the source, opened and checked targets, and how to write. */
  public record Job(
      ChunkSupply supply,
      List<TargetWriter> writers,
      RestoreOptions options,
      boolean verify,
      int verifyPieceSize) {}

  private final ActorContext<Command> context;
  private final Job job;
  private final ActorRef<RestoreEvent> listener;
  private final Executor blocking;
  private final Map<String, ActorRef<TargetSession.Command>> sessions = new LinkedHashMap<>();
  private final Map<String, RestoreEvent.Outcome> outcomes = new LinkedHashMap<>();
  private final Set<String> erased = new LinkedHashSet<>();
  private final long started = System.currentTimeMillis();
  private RestorePipeline.Running running;
  private boolean writing;
  private boolean sourceDamaged;
  private String cancelled;

  /**
   * Off with -Dimprint.verifyBehind=false: every read-back after the last write (for a disk whose
   * reads and writes should not interleave, such as a spinning one).
   */
  private static final boolean VERIFY_BEHIND =
      !"false".equals(System.getProperty("imprint.verifyBehind"));

  private RestoreSession(ActorContext<Command> context, Job job, ActorRef<RestoreEvent> listener) {
    this.context = context;
    this.job = job;
    this.listener = listener;
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
  }

  public static Behavior<Command> create(Job job, ActorRef<RestoreEvent> listener) {
    return Behaviors.setup(ctx -> new RestoreSession(ctx, job, listener).start());
  }

  private Behavior<Command> start() {
    Verifier verifier =
        new Verifier(Materializer.matFromSystem(context.getSystem()), job.verifyPieceSize());
    boolean behind =
        job.verify()
            && VERIFY_BEHIND
            && VerifyBehind.fits(job.writers().size(), job.verifyPieceSize());
    int i = 0;
    for (TargetWriter w : job.writers()) {
      if (behind) {
        // Reads back what is written while the rest is: the final pass reads only the remainder.
        w.verifyBehind(verifier.behind(w.device()));
      }
      ActorRef<TargetSession.Command> s =
          context.spawn(
              TargetSession.create(w, context.getSelf(), listener, verifier), "target-" + i++);
      context.watchWith(s, new TargetStopped(w.name()));
      sessions.put(w.name(), s);
    }
    long size = Math.max(0, job.supply().logicalSize());
    sessions.values().forEach(s -> s.tell(new TargetSession.Erase(size)));
    return Behaviors.receive(Command.class)
        .onMessage(TargetErased.class, this::onErased)
        .onMessage(TargetFinished.class, this::onFinished)
        .onMessage(TargetStopped.class, this::onStopped)
        .onMessage(WriteDone.class, this::onWriteDone)
        .onMessage(Cancel.class, this::onCancel)
        .build();
  }

  private Behavior<Command> onErased(TargetErased e) {
    erased.add(e.target());
    return maybeStartWriting();
  }

  private Behavior<Command> maybeStartWriting() {
    if (writing || erased.size() + outcomes.size() < sessions.size()) {
      return Behaviors.same();
    }
    List<TargetWriter> alive = new ArrayList<>();
    for (TargetWriter w : job.writers()) {
      if (erased.contains(w.name()) && !outcomes.containsKey(w.name())) {
        alive.add(w);
      }
    }
    if (alive.isEmpty() || cancelled != null) {
      return maybeFinish();
    }
    writing = true;
    long total =
        job.supply().dataBytes() >= 0 ? job.supply().dataBytes() : job.supply().logicalSize();
    for (TargetWriter w : alive) {
      sessions.get(w.name()).tell(new TargetSession.Writing(total));
    }
    RestorePipeline pipeline =
        new RestorePipeline(Materializer.matFromSystem(context.getSystem()), job.options());
    running = pipeline.start(job.supply(), alive);
    context.pipeToSelf(running.written(), WriteDone::new);
    return Behaviors.same();
  }

  private Behavior<Command> onWriteDone(WriteDone d) {
    running = null;
    if (d.error() != null && RestorePipeline.asIo(d.error()) instanceof ImageFormatException) {
      sourceDamaged = true;
    }
    List<Chunk.Range> ranges = d.written() == null ? List.of() : d.written().ranges();
    for (String name : erased) {
      if (!outcomes.containsKey(name)) {
        sessions
            .get(name)
            .tell(new TargetSession.WriteEnded(job.verify() && d.error() == null, ranges));
      }
    }
    return maybeFinish();
  }

  private Behavior<Command> onCancel(Cancel c) {
    if (cancelled != null) {
      return Behaviors.same();
    }
    cancelled = c.why();
    context.getLog().info("restore cancelled: {}", c.why());
    if (running != null) {
      // Stops the source at once; every target fails before its held chunks are written.
      running.abort().accept(new IOException("cancelled: " + c.why()));
    }
    for (var e : sessions.entrySet()) {
      if (!outcomes.containsKey(e.getKey())) {
        e.getValue().tell(new TargetSession.Cancel(c.why()));
      }
    }
    return Behaviors.same();
  }

  private Behavior<Command> onFinished(TargetFinished f) {
    outcomes.put(f.outcome().target(), f.outcome());
    return writing ? maybeFinish() : maybeStartWriting();
  }

  private Behavior<Command> onStopped(TargetStopped s) {
    if (!outcomes.containsKey(s.target())) {
      // The session died without reporting: supervision turns that into a failed target (its
      // writer was closed as it stopped, so the stream no longer waits for it).
      String why = "internal error in the target session (see the log)";
      outcomes.put(
          s.target(), new RestoreEvent.Outcome(s.target(), TargetState.FAILED, why, false, 0));
      listener.tell(new RestoreEvent.StateChanged(s.target(), TargetState.FAILED, why));
      return writing ? maybeFinish() : maybeStartWriting();
    }
    return Behaviors.same();
  }

  private Behavior<Command> maybeFinish() {
    if (outcomes.size() < sessions.size() || running != null) {
      return Behaviors.same();
    }
    // Closing the source may wait on a network or a pipe: not on this thread.
    ChunkSupply supply = job.supply();
    var log = context.getLog();
    CompletableFuture.runAsync(
        () -> {
          try {
            supply.close();
          } catch (IOException e) {
            log.warn("closing the source: {}", e.getMessage());
          }
        },
        blocking);
    List<RestoreEvent.Outcome> list = new ArrayList<>();
    for (TargetWriter w : job.writers()) {
      list.add(outcomes.get(w.name()));
    }
    listener.tell(
        new RestoreEvent.Finished(list, System.currentTimeMillis() - started, sourceDamaged));
    return Behaviors.stopped();
  }
}
