package dev.imprint.actors.station;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.RestoreJob;
import dev.imprint.engine.audit.AuditRecord;
import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.discovery.Drive;
import dev.imprint.engine.job.RestoreRequest;
import dev.imprint.engine.probe.CapacityProbe;
import dev.imprint.engine.probe.ProbeTarget;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One drive's job in one slot: the audit start record, the fake-capacity probe, then a {@link
 * RestoreJob} on the drive alone, then the audit end record. It reports to the station and stops;
 * the drive fails alone, whatever happens to it.
 */
final class SlotJob {
  sealed interface Command {}

  /** Stop the job: the drive was pulled, or the station aborts. */
  record Cancel(String why) implements Command {}

  private record Checked(AuditRecord start, String refusal) implements Command {}

  private record FromJob(RestoreEvent event) implements Command {}

  private record JobStopped() implements Command {}

  private record Audited() implements Command {}

  static final int SLOT_DECODE_PARALLELISM = 2;

  private static final Pattern BAD_OFFSET = Pattern.compile("verification failed at byte (\\d+)");

  private final ActorContext<Command> context;
  private final StationConfig config;
  private final String slot;
  private final String label;
  private final Drive drive;
  private final ActorRef<StationEvent> out;
  private final ActorRef<Station.Command> station;
  private final Executor blocking;
  private final long startNanos = System.nanoTime();
  private final String startTime = Instant.now().toString();
  private AuditRecord start;
  private ActorRef<RestoreJob.Command> job;
  private String cancelled;
  private boolean ended;
  private dev.imprint.engine.job.NewIds.Result newIds;

  private SlotJob(
      ActorContext<Command> context,
      StationConfig config,
      String slot,
      String label,
      Drive drive,
      ActorRef<StationEvent> out,
      ActorRef<Station.Command> station) {
    this.context = context;
    this.config = config;
    this.slot = slot;
    this.label = label;
    this.drive = drive;
    this.out = out;
    this.station = station;
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
  }

  static Behavior<Command> create(
      StationConfig config,
      String slot,
      String label,
      Drive drive,
      ActorRef<StationEvent> out,
      ActorRef<Station.Command> station) {
    return Behaviors.setup(
        ctx -> new SlotJob(ctx, config, slot, label, drive, out, station).begin());
  }

  private Behavior<Command> begin() {
    state(SlotState.CHECKING, "", -1);
    context.pipeToSelf(
        CompletableFuture.supplyAsync(this::check, blocking),
        (c, t) -> t == null ? c : new Checked(start, "checking failed: " + rootMessage(t)));
    return Behaviors.receive(Command.class)
        .onMessage(Checked.class, this::onChecked)
        .onMessage(FromJob.class, this::onJobEvent)
        .onMessage(JobStopped.class, s -> onJobStopped())
        .onMessage(Cancel.class, this::onCancel)
        .onMessage(Audited.class, a -> Behaviors.stopped())
        .build();
  }

  /** Blocking: the audit start record, then the probe; a refusal line, or null to go on. */
  private Checked check() {
    AuditRecord s =
        new AuditRecord(
            "start",
            UUID.randomUUID().toString(),
            startTime,
            "",
            host(),
            label,
            slot,
            drive.node().toString(),
            drive.vendor(),
            drive.model(),
            drive.serial(),
            drive.serialSource(),
            false,
            drive.size(),
            config.facts().name(),
            config.facts().digest(),
            config.facts().signers(),
            0,
            "",
            -1,
            0,
            "started",
            "",
            config.version());
    try {
      if (config.audit() != null) {
        s = config.audit().started(s);
      }
    } catch (IOException e) {
      return new Checked(s, "cannot write the audit log " + config.audit().file() + ": " + e);
    }
    start = s;
    // Asked again now: an automounter may have mounted it since it was judged, and the restore
    // job would unmount what it finds mounted; the station leaves such a drive alone instead.
    var unsafe = config.rules().system().refusal(drive);
    if (unsafe.isPresent()) {
      return new Checked(s, "not imaged: " + unsafe.get());
    }
    if (!config.probe().appliesTo(drive)) {
      return new Checked(s, null);
    }
    try (TargetDevice dev = TargetDevice.open(drive.node(), OpenMode.RESTORE)) {
      CapacityProbe.Result r = CapacityProbe.run(ProbeTarget.of(dev));
      return new Checked(s, r.ok() ? null : r.message());
    } catch (IOException e) {
      return new Checked(s, "capacity probe: " + e.getMessage());
    }
  }

  private Behavior<Command> onChecked(Checked c) {
    start = c.start();
    if (cancelled != null) {
      return end(SlotState.FAILED, cancelled, -1, 0, "", "cancelled");
    }
    if (c.refusal() != null) {
      return end(SlotState.FAILED, c.refusal(), -1, 0, "", "failed");
    }
    // Two chunks decoded at a time per drive: the slots share the cores, and each job's buffers
    // follow its decode slots, so many slots stay within the JVM's memory.
    RestoreRequest request =
        new RestoreRequest(
                config.source(),
                List.of(drive.node().toString()),
                config.verify(),
                true,
                false,
                false,
                RestoreRequest.Remount.NONE,
                false,
                false,
                SLOT_DECODE_PARALLELISM,
                null)
            .withNewIds(config.newIds());
    job =
        context.spawn(
            RestoreJob.create(request, context.messageAdapter(RestoreEvent.class, FromJob::new)),
            "restore");
    context.watchWith(job, new JobStopped());
    return Behaviors.same();
  }

  private Behavior<Command> onJobEvent(FromJob f) {
    RestoreEvent e = f.event();
    if (e instanceof RestoreEvent.StateChanged s) {
      switch (s.state()) {
        case ERASING -> state(SlotState.ERASING, "", -1);
        case WRITING -> state(SlotState.WRITING, "", -1);
        case VERIFYING -> state(SlotState.VERIFYING, "", -1);
        default -> {
          // validating is part of checking; done and failed come with the job's end
        }
      }
    } else if (e instanceof RestoreEvent.Progress p) {
      SlotState phase =
          p.phase().name().equals("VERIFYING") ? SlotState.VERIFYING : SlotState.WRITING;
      out.tell(new StationEvent.SlotProgress(slot, phase, p.done(), p.total(), p.bytesPerSecond()));
    } else if (e instanceof RestoreEvent.Warning w) {
      out.tell(new StationEvent.Warning(label + ": " + w.message()));
    } else if (e instanceof RestoreEvent.IdsRenewed n) {
      newIds = n.ids();
    } else if (e instanceof RestoreEvent.JobEnded end) {
      return jobEnded(end.result());
    }
    return Behaviors.same();
  }

  private Behavior<Command> jobEnded(RestoreJob.Result r) {
    job = null;
    RestoreEvent.Outcome o = r.outcomes().isEmpty() ? null : r.outcomes().get(0);
    long written = o == null ? 0 : o.bytesWritten();
    boolean ok = r.status() == RestoreJob.Status.SUCCEEDED;
    String detail = ok ? "restored" + (config.verify() ? " and verified" : "") : r.message();
    if (ok && newIds != null) {
      detail += "; new ids: " + idsLine(newIds);
    }
    if (!ok && o != null && !o.detail().isEmpty()) {
      detail = o.detail();
    }
    if (!ok && cancelled != null) {
      detail = cancelled;
    }
    long bad = -1;
    Matcher m = BAD_OFFSET.matcher(detail);
    if (m.find()) {
      bad = Long.parseLong(m.group(1));
    }
    String verify =
        ok
            ? (config.verify() ? "passed" : "skipped")
            : o != null && o.verifyFailed() ? "failed" : "";
    String result = ok ? "done" : cancelled != null ? "cancelled" : "failed";
    return end(ok ? SlotState.DONE : SlotState.FAILED, detail, bad, written, verify, result);
  }

  private Behavior<Command> onJobStopped() {
    if (job != null && !ended) {
      job = null;
      return end(
          SlotState.FAILED,
          "internal error: the restore job stopped without a result (see the log)",
          -1,
          0,
          "",
          "failed");
    }
    return Behaviors.same();
  }

  private Behavior<Command> onCancel(Cancel c) {
    if (ended || cancelled != null) {
      return Behaviors.same();
    }
    cancelled = c.why();
    if (job != null) {
      job.tell(new RestoreJob.Cancel(c.why()));
    }
    return Behaviors.same();
  }

  /** Writes the audit end record, then reports the end to the front end and the station. */
  private Behavior<Command> end(
      SlotState state, String detail, long bad, long written, String verify, String result) {
    if (ended) {
      return Behaviors.same();
    }
    ended = true;
    double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
    AuditRecord s =
        start == null || newIds == null
            ? start
            : start.withNewIds(newIds.diskId(), idsForAudit(newIds));
    ActorRef<Command> self = context.getSelf();
    boolean ok = state == SlotState.DONE;
    boolean verifyFailed = verify.equals("failed");
    context.pipeToSelf(
        CompletableFuture.runAsync(
            () -> {
              String shown = detail;
              try {
                if (ok && config.eject()) {
                  shown = detail + "; " + eject();
                }
                if (config.audit() != null && s != null) {
                  config
                      .audit()
                      .ended(
                          s.ended(
                              Instant.now().toString(),
                              written,
                              verify,
                              bad,
                              Math.round(written / seconds),
                              result,
                              ok ? "" : detail));
                }
              } catch (IOException e) {
                out.tell(new StationEvent.Warning("audit log: " + e.getMessage()));
              } finally {
                // Shown only once on record: a "done" on the board is a "done" in the audit log.
                state(state, shown, bad);
                station.tell(new Station.SlotEnded(slot, self, ok, verifyFailed));
              }
            },
            blocking),
        (v, t) -> new Audited());
    return Behaviors.same();
  }

  /** The new ids as the audit log lists them: NUMBER:PARTITION-GUID:FILESYSTEM:UUID. */
  static List<String> idsForAudit(dev.imprint.engine.job.NewIds.Result ids) {
    return ids.volumes().stream()
        .map(v -> v.number() + ":" + v.partitionGuid() + ":" + v.filesystem() + ":" + v.uuid())
        .toList();
  }

  /** The new ids in a done line: "disk G, 1 G ext4 U, ...". */
  private static String idsLine(dev.imprint.engine.job.NewIds.Result ids) {
    StringBuilder b = new StringBuilder("disk " + (ids.diskId().isEmpty() ? "-" : ids.diskId()));
    for (var v : ids.volumes()) {
      b.append(", ").append(v.number() == 0 ? "volume" : "partition " + v.number());
      if (!v.partitionGuid().isEmpty()) {
        b.append(' ').append(v.partitionGuid());
      }
      if (!v.uuid().isEmpty()) {
        b.append(' ').append(v.filesystem()).append(' ').append(v.uuid());
      }
    }
    return b.toString();
  }

  /** Blocking: powers the drive down; what happened, as a line. */
  private String eject() {
    try {
      return config.sysfs().eject(drive);
    } catch (IOException e) {
      return "not ejected: " + e.getMessage();
    }
  }

  private void state(SlotState s, String detail, long bad) {
    out.tell(new StationEvent.SlotChanged(slot, label, drive, s, detail, bad));
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return System.getenv().getOrDefault("HOSTNAME", "unknown");
    }
  }
}
