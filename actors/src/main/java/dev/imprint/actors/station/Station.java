package dev.imprint.actors.station;

import dev.imprint.engine.discovery.DeviceWatcher;
import dev.imprint.engine.discovery.Drive;
import dev.imprint.engine.rules.Verdict;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The cloning station: watches drives come and go, judges each by the rules, and gives every
 * accepted drive its own {@link SlotJob} (one child per slot), which it supervises: a job that ends
 * in any way frees its slot, and a drive pulled mid-job fails that slot alone. Plugging a drive
 * back in starts a new job. {@link Stop} lets running jobs finish; {@link Abort} cancels them.
 */
public final class Station {
  public sealed interface Command {}

  /** Take no more drives; stop when the running jobs have finished. */
  public record Stop(String why) implements Command {}

  /** Cancel every running job (their drives are left not looking valid), then stop. */
  public record Abort(String why) implements Command {}

  /**
   * Arms or disarms a slot from now on (the web page, with its token): with {@code --armed}, only
   * armed slots take drives. A drive waiting in a slot that is armed now is judged again.
   */
  public record Arm(String slot, boolean armed) implements Command {}

  /** A slot's job has ended (after its audit record was written). */
  record SlotEnded(String slot, ActorRef<SlotJob.Command> job, boolean ok, boolean verifyFailed)
      implements Command {}

  private record Present(List<Drive> drives) implements Command {}

  private record Appeared(Drive drive) implements Command {}

  private record Removed(Drive drive) implements Command {}

  private record WatchWarning(String message) implements Command {}

  private record Judged(Drive drive, String label, Verdict verdict, boolean present, String learned)
      implements Command {}

  /** What the station knows of one slot. */
  private static final class Slot {
    Drive drive;
    SlotState state;
    String detail = "";
    ActorRef<SlotJob.Command> job;
    boolean gone;
    boolean present;

    /** The drive plugged back into this slot while its last job was still ending. */
    Judged pending;
  }

  private final ActorContext<Command> context;
  private final StationConfig config;
  private final ActorRef<StationEvent> out;
  private final Executor blocking;
  private final Map<String, Slot> slots = new LinkedHashMap<>();
  private final Map<String, String> slotOfName = new HashMap<>();
  private final Map<String, Boolean> armedNow = new HashMap<>();
  private DeviceWatcher watcher;
  private int started;
  private int succeeded;
  private int failed;
  private boolean verifyFailed;
  private boolean draining;
  private boolean aborted;
  private long jobs;

  private Station(ActorContext<Command> context, StationConfig config, ActorRef<StationEvent> out) {
    this.context = context;
    this.config = config;
    this.out = out;
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
  }

  /**
   * Direct memory for chunk buffers out across all slots' jobs together (beyond the one each pool
   * always gets), and for free buffers kept; decoded chunks kept for slots that want them later
   * take up to twice this (engine pipeline/SharedDecodes). With what the JVM itself takes, 16 busy
   * slots stayed within 512 MiB under the launcher (docs/BENCHMARKS.md).
   */
  static final long SLOT_BUFFERS = 64L << 20;

  public static Behavior<Command> create(StationConfig config, ActorRef<StationEvent> out) {
    dev.imprint.engine.pipeline.BufferPool.shareDirectMemory(SLOT_BUFFERS);
    return Behaviors.setup(ctx -> new Station(ctx, config, out).begin());
  }

  private Behavior<Command> begin() {
    ActorRef<Command> self = context.getSelf();
    watcher =
        new DeviceWatcher(
            config.sysfs(),
            config.watch(),
            new DeviceWatcher.Listener() {
              @Override
              public void present(List<Drive> drives) {
                self.tell(new Present(drives));
              }

              @Override
              public void appeared(Drive drive) {
                self.tell(new Appeared(drive));
              }

              @Override
              public void removed(Drive drive) {
                self.tell(new Removed(drive));
              }

              @Override
              public void warning(String message) {
                self.tell(new WatchWarning(message));
              }
            });
    watcher.start();
    return Behaviors.receive(Command.class)
        .onMessage(Present.class, p -> onPresent(p.drives()))
        .onMessage(Appeared.class, a -> judge(a.drive(), false))
        .onMessage(Removed.class, r -> onRemoved(r.drive()))
        .onMessage(
            WatchWarning.class,
            w -> {
              out.tell(new StationEvent.Warning(w.message()));
              return Behaviors.same();
            })
        .onMessage(Judged.class, this::onJudged)
        .onMessage(SlotEnded.class, this::onSlotEnded)
        .onMessage(Arm.class, this::onArm)
        .onMessage(Stop.class, s -> drain(s.why(), false))
        .onMessage(Abort.class, a -> drain(a.why(), true))
        .onSignal(PostStop.class, s -> stopWatching())
        .build();
  }

  private Behavior<Command> onPresent(List<Drive> drives) {
    out.tell(new StationEvent.Watching(drives.size()));
    for (Drive d : drives) {
      judge(d, true);
    }
    return Behaviors.same();
  }

  /** The slot key: the port path, or the port path and name when another drive holds it. */
  private String keyOf(Drive d) {
    boolean taken =
        slotOfName.entrySet().stream()
            .anyMatch(e -> e.getValue().equals(d.slot()) && !e.getKey().equals(d.name()));
    return taken ? d.slot() + "#" + d.name() : d.slot();
  }

  /** The rules read /proc and /sys, and learning writes the slot map: off the actor's thread. */
  private Behavior<Command> judge(Drive d, boolean present) {
    String key = keyOf(d);
    slotOfName.put(d.name(), key);
    ActorRef<Command> self = context.getSelf();
    CompletableFuture.runAsync(
        () -> {
          String learned = null;
          try {
            if (config.learn() && config.slots().entry(key).isEmpty()) {
              learned = config.slots().learn(config.slotMapFile(), key).label();
            }
            String label = config.slots().label(key);
            Verdict v =
                config.learn()
                    ? Verdict.ignore(
                        "learning slots: "
                            + (learned == null ? "already labelled" : "labelled " + learned))
                    : config.rules().judge(d, label);
            self.tell(new Judged(d, label, v, present, learned));
          } catch (IOException | RuntimeException e) {
            self.tell(
                new Judged(
                    d, key, Verdict.ignore("cannot be judged: " + e.getMessage()), present, null));
          }
        },
        blocking);
    return Behaviors.same();
  }

  private Behavior<Command> onJudged(Judged j) {
    Drive d = j.drive();
    String key = slotOfName.get(d.name());
    if (key == null) {
      return Behaviors.same(); // removed while being judged
    }
    if (j.learned() != null) {
      out.tell(new StationEvent.SlotLearned(key, j.learned()));
    }
    Slot s = slots.get(key);
    if (s != null && s.job != null) {
      if (!s.gone) {
        return Behaviors.same(); // a rescan's repeat of a drive already at work
      }
      // Plugged back before the cancelled job let go of it: its turn comes when that job ends.
      s.pending = j;
      return Behaviors.same();
    }
    s = new Slot();
    s.drive = d;
    s.present = j.present();
    slots.put(key, s);
    Verdict v = j.verdict();
    String why = null;
    if (!v.accepted()) {
      why = v.reason();
    } else if (j.present() && !config.includePresent()) {
      why = "attached before the station started (" + v.reason() + "; --include-present images it)";
    } else if (config.armedOnly() && !armed(key)) {
      why = "slot " + j.label() + " is not armed";
    } else if (draining) {
      why = "the station is stopping";
    } else if (config.once() > 0 && started >= config.once()) {
      why = "--once " + config.once() + ": enough drives taken";
    }
    if (why != null) {
      s.state = SlotState.IGNORED;
      s.detail = why;
      out.tell(new StationEvent.SlotChanged(key, j.label(), d, SlotState.IGNORED, why, -1));
      return Behaviors.same();
    }
    if (!config.erase()) {
      s.state = SlotState.READY;
      s.detail = "would be imaged (" + v.reason() + "): add --erase";
      out.tell(new StationEvent.SlotChanged(key, j.label(), d, SlotState.READY, s.detail, -1));
      return Behaviors.same();
    }
    started++;
    s.state = SlotState.CHECKING;
    s.job =
        context.spawn(
            SlotJob.create(config, key, j.label(), d, out, context.getSelf()), "slot-" + (++jobs));
    return Behaviors.same();
  }

  private boolean armed(String key) {
    return armedNow.getOrDefault(key, config.slots().armed(key));
  }

  private Behavior<Command> onArm(Arm a) {
    boolean was = armed(a.slot());
    armedNow.put(a.slot(), a.armed());
    out.tell(
        new StationEvent.Warning(
            "slot " + config.slots().label(a.slot()) + (a.armed() ? " armed" : " disarmed")));
    Slot s = slots.get(a.slot());
    if (a.armed() && !was && s != null && !s.gone && s.state == SlotState.IGNORED) {
      return judge(s.drive, s.present);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onRemoved(Drive d) {
    String key = slotOfName.remove(d.name());
    Slot s = key == null ? null : slots.get(key);
    if (s == null || !s.drive.name().equals(d.name())) {
      return Behaviors.same();
    }
    s.gone = true;
    if (s.job != null) {
      s.job.tell(new SlotJob.Cancel("drive removed mid-restore (" + d.node() + ")"));
      return Behaviors.same();
    }
    slots.remove(key);
    out.tell(
        new StationEvent.SlotChanged(
            key, config.slots().label(key), d, SlotState.REMOVED, s.detail, -1));
    return Behaviors.same();
  }

  private Behavior<Command> onSlotEnded(SlotEnded e) {
    Slot s = slots.get(e.slot());
    if (s != null && s.job != null && s.job.equals(e.job())) {
      s.job = null;
      s.state = e.ok() ? SlotState.DONE : SlotState.FAILED;
      s.detail = e.ok() ? "done" : "failed";
      if (s.gone) {
        slots.remove(e.slot());
        out.tell(
            new StationEvent.SlotChanged(
                e.slot(),
                config.slots().label(e.slot()),
                s.drive,
                SlotState.REMOVED,
                e.ok() ? "done" : "failed",
                -1));
      }
    }
    Judged next = s == null ? null : s.pending;
    if (next != null) {
      s.pending = null;
      if (slotOfName.containsKey(next.drive().name())) {
        onJudged(next);
      }
    }
    if (e.ok()) {
      succeeded++;
    } else {
      failed++;
      verifyFailed |= e.verifyFailed();
    }
    if (config.once() > 0 && succeeded + failed >= config.once() && !draining) {
      draining = true;
      out.tell(new StationEvent.Draining("--once " + config.once() + " reached"));
    }
    return maybeStop();
  }

  private Behavior<Command> drain(String why, boolean abort) {
    if (!draining) {
      draining = true;
      out.tell(new StationEvent.Draining(why));
    }
    if (abort && !aborted) {
      aborted = true;
      for (Slot s : slots.values()) {
        if (s.job != null) {
          s.job.tell(new SlotJob.Cancel("aborted (" + why + ")"));
        }
      }
    }
    return maybeStop();
  }

  private Behavior<Command> maybeStop() {
    if (!draining || slots.values().stream().anyMatch(s -> s.job != null)) {
      return Behaviors.same();
    }
    out.tell(new StationEvent.Stopped(succeeded, failed, verifyFailed, aborted));
    return Behaviors.stopped();
  }

  private Behavior<Command> stopWatching() {
    if (watcher != null) {
      watcher.close();
    }
    return Behaviors.same();
  }
}
