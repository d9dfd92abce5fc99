package dev.imprint.actors.restore;

import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.RestoreOptions;
import dev.imprint.engine.pipeline.RestorePipeline;
import dev.imprint.engine.pipeline.TargetWriter;
import dev.imprint.engine.pipeline.Verifier;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.Materializer;

/**
 * One restore job: spawns a {@link TargetSession} per target, runs the one stream that reads the
 * source and feeds every target, and reports each target's outcome. A target that fails (or whose
 * session dies) is marked failed; the others go on.
 */
public final class RestoreSession {
  public sealed interface Command {}

  /** A target's old contents are wiped (or it failed trying, and says so separately). */
  public record TargetErased(String target, boolean ok) implements Command {}

  public record TargetFinished(RestoreEvent.Outcome outcome) implements Command {}

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
  private final Map<String, ActorRef<TargetSession.Command>> sessions = new LinkedHashMap<>();
  private final Map<String, RestoreEvent.Outcome> outcomes = new LinkedHashMap<>();
  private final List<String> erased = new ArrayList<>();
  private final long started = System.currentTimeMillis();
  private boolean writing;

  private RestoreSession(ActorContext<Command> context, Job job, ActorRef<RestoreEvent> listener) {
    this.context = context;
    this.job = job;
    this.listener = listener;
  }

  public static Behavior<Command> create(Job job, ActorRef<RestoreEvent> listener) {
    return Behaviors.setup(ctx -> new RestoreSession(ctx, job, listener).start());
  }

  private Behavior<Command> start() {
    Verifier verifier =
        new Verifier(Materializer.matFromSystem(context.getSystem()), job.verifyPieceSize());
    int i = 0;
    for (TargetWriter w : job.writers()) {
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
    if (erased.isEmpty()) {
      return maybeFinish();
    }
    writing = true;
    List<TargetWriter> alive = new ArrayList<>();
    for (TargetWriter w : job.writers()) {
      if (erased.contains(w.name()) && !outcomes.containsKey(w.name())) {
        alive.add(w);
      }
    }
    long total =
        job.supply().dataBytes() >= 0 ? job.supply().dataBytes() : job.supply().logicalSize();
    for (TargetWriter w : alive) {
      sessions.get(w.name()).tell(new TargetSession.Writing(total));
    }
    RestorePipeline pipeline =
        new RestorePipeline(Materializer.matFromSystem(context.getSystem()), job.options());
    context.pipeToSelf(pipeline.write(job.supply(), alive), WriteDone::new);
    return Behaviors.same();
  }

  private Behavior<Command> onWriteDone(WriteDone d) {
    var ranges =
        d.written() == null
            ? List.<dev.imprint.engine.pipeline.Chunk.Range>of()
            : d.written().ranges();
    for (String name : erased) {
      ActorRef<TargetSession.Command> s = sessions.get(name);
      if (!outcomes.containsKey(name)) {
        s.tell(new TargetSession.WriteEnded(job.verify() && d.error() == null, ranges));
      }
    }
    return Behaviors.same();
  }

  private Behavior<Command> onFinished(TargetFinished f) {
    outcomes.put(f.outcome().target(), f.outcome());
    if (!writing) {
      return maybeStartWriting();
    }
    return maybeFinish();
  }

  private Behavior<Command> onStopped(TargetStopped s) {
    if (!outcomes.containsKey(s.target())) {
      // The session died without reporting: supervision turns that into a failed target.
      outcomes.put(
          s.target(),
          new RestoreEvent.Outcome(
              s.target(), TargetState.FAILED, "internal error in the target session", false, 0));
      listener.tell(
          new RestoreEvent.StateChanged(s.target(), TargetState.FAILED, "internal error"));
      return writing ? maybeFinish() : maybeStartWriting();
    }
    return Behaviors.same();
  }

  private Behavior<Command> maybeFinish() {
    if (outcomes.size() < sessions.size()) {
      return Behaviors.same();
    }
    try {
      job.supply().close();
    } catch (IOException e) {
      context.getLog().warn("closing the source: {}", e.getMessage());
    }
    List<RestoreEvent.Outcome> list = new ArrayList<>();
    for (TargetWriter w : job.writers()) {
      list.add(outcomes.get(w.name()));
    }
    listener.tell(new RestoreEvent.Finished(list, System.currentTimeMillis() - started));
    return Behaviors.stopped();
  }
}
