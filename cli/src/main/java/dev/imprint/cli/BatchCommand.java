package dev.imprint.cli;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.RestoreJob;
import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.JobLines;
import dev.imprint.cli.output.Json;
import dev.imprint.cli.output.JsonDisplay;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.device.TargetCheck;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.job.Refusal;
import dev.imprint.engine.job.RestoreRequest;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.job.SourceSpec;
import dev.imprint.engine.job.TargetPlanner;
import dev.imprint.engine.pipeline.ChunkSupply;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "batch",
    mixinStandardHelpOptions = true,
    description = {
      "Run the restore jobs of a jobs file (HOCON), up to N at once, each its own",
      "restore job, then print a summary. The whole file is checked before any job",
      "starts, and no target may be named twice. The exit code is the worst of the",
      "jobs' codes, from least to most severe: 0, 2 (a job refused), 1, 4, 3, 130, 70."
    },
    footer = {
      "",
      "A jobs file:",
      "  defaults { verify = true }",
      "  jobs = [",
      "    { name = lab-a, source = golden.imprint, targets = [/dev/sdb, /dev/sdc], erase = true }",
      "    { name = lab-b, source = \"https://host/lab.imprint\", targets = /dev/sdd,",
      "      erase = true, new-ids = true, trust = [release.pub] }",
      "  ]",
      "Keys: name, source, targets, erase (required: true), verify, trust, grow,",
      "grow-last-partition, new-ids, source-volume, all-blocks, discard, buffered,",
      "remount (named|all|none). Relative paths are relative to the jobs file.",
      "",
      "Examples:",
      "  imprint batch jobs.conf --dry-run",
      "  imprint batch jobs.conf --parallel 2 --noprompt --json"
    })
final class BatchCommand implements Callable<Integer> {
  /** Exit codes from least to most severe: a batch exits with its jobs' worst (README). */
  static final List<Integer> SEVERITY =
      List.of(
          ExitCode.OK,
          ExitCode.BAD_INPUT,
          ExitCode.TARGETS_FAILED,
          ExitCode.DAMAGED,
          ExitCode.VERIFY_FAILED,
          ExitCode.INTERRUPTED,
          ExitCode.INTERNAL);

  @Parameters(index = "0", paramLabel = "JOBS.conf", description = "The jobs file (HOCON).")
  Path file;

  @Option(
      names = "--parallel",
      paramLabel = "N",
      description = "Run up to N jobs at once (default ${DEFAULT-VALUE}).")
  int parallel = 4;

  @Option(
      names = "--dry-run",
      description =
          "Check every job (source readable, targets present and safe, sizes) and print what"
              + " would happen; write nothing.")
  boolean dryRun;

  @Option(
      names = {"--noprompt", "-noprompt"},
      description = "Don't ask once before the jobs erase their targets.")
  boolean noprompt;

  @Option(
      names = {"--json", "-json"},
      description = "Print one JSON object per event (docs/EVENTS.md); each job's carry \"job\".")
  boolean json;

  @Mixin RemoteOptions remote;

  /** An event of job {@code job} (an index into the jobs), or an interrupt ({@code job} -1). */
  private record Tagged(int job, RestoreEvent event) {}

  /** A job that runs: how it shows itself, and when it last said anything. */
  private static final class Running {
    final JobRunner runner;
    final Display display;
    final Map<String, String> models = new HashMap<>();
    final long started = System.nanoTime();
    final long silence;
    long lastEvent = started;

    Running(JobRunner runner, Display display, long silence) {
      this.runner = runner;
      this.display = display;
      this.silence = silence;
    }
  }

  /** How a job ended (or would end, in a dry run). */
  private record Ended(
      JobsFile.Job job, String status, int exitCode, String message, long millis) {}

  private final BlockingQueue<Tagged> events = new LinkedBlockingQueue<>();

  @Override
  public Integer call() throws Exception {
    if (parallel < 1) {
      throw new UserError("--parallel " + parallel + " is out of range: use 1 or more");
    }
    List<JobsFile.Job> jobs = JobsFile.read(file);
    remote.requireHttp(
        jobs.stream()
            .map(JobsFile.Job::source)
            .filter(HttpUrls::isHttpUrl)
            .findFirst()
            .orElse(null));
    TargetPlanner planner = new TargetPlanner(new SystemDisks());
    List<RestoreEvent.TargetToErase> all = checkDistinct(jobs, planner);
    if (dryRun) {
      return dryRun(jobs, planner);
    }
    if (!noprompt) {
      if (!Terminal.interactive()) {
        throw new UserError(
            "no terminal to ask whether to erase the targets of "
                + jobs.size()
                + " job"
                + (jobs.size() == 1 ? "" : "s")
                + ": add --noprompt to agree in advance");
      }
      if (!Terminal.confirm("Erase contents of " + RestoreCommand.erasing(all) + "?")) {
        throw new UserError("not erased: nothing was written");
      }
    }
    try (Pekko pekko = Pekko.startInBackground()) {
      return run(pekko.get(), jobs);
    }
  }

  /**
   * Refuses a target that two jobs name (or one job twice), before anything starts; a target that
   * cannot be inspected now is left for its job to refuse. Returns every target, for the question.
   */
  private static List<RestoreEvent.TargetToErase> checkDistinct(
      List<JobsFile.Job> jobs, TargetPlanner planner) {
    List<JobsFile.Job> owners = new ArrayList<>();
    List<TargetCheck.Plan> plans = new ArrayList<>();
    List<RestoreEvent.TargetToErase> all = new ArrayList<>();
    for (JobsFile.Job j : jobs) {
      for (String t : j.targets()) {
        TargetCheck.Plan p;
        try {
          p = planner.inspect(t);
        } catch (Refusal e) {
          continue;
        }
        for (int i = 0; i < plans.size(); i++) {
          try {
            planner.checkDistinct(List.of(plans.get(i), p), SourceSpec.of(SourceSpec.STDIN));
          } catch (Refusal e) {
            JobsFile.Job other = owners.get(i);
            throw new UserError(
                (other == j
                        ? "job '" + j.name() + "' names "
                        : "jobs '" + other.name() + "' and '" + j.name() + "' name ")
                    + plans.get(i).spec()
                    + (plans.get(i).spec().equals(t) ? "" : " and " + t)
                    + ", the same disk (or one part of the other): a target belongs to one job,"
                    + " once");
          }
        }
        owners.add(j);
        plans.add(p);
        all.add(
            new RestoreEvent.TargetToErase(
                t, p.path().toString(), p.model() + ", job " + j.name(), p.size(), List.of()));
      }
    }
    return all;
  }

  private RestoreRequest request(int index, JobsFile.Job job) {
    java.util.function.Consumer<String> warnings =
        w -> {
          LoggerFactory.getLogger(BatchCommand.class).warn("{}: {}", job.name(), w);
          events.add(new Tagged(index, new RestoreEvent.Warning(w)));
        };
    HttpOptions http =
        HttpUrls.isHttpUrl(job.source()) ? remote.http().withNotices(warnings) : null;
    SourceSpec from =
        new SourceSpec(
            job.source(), http, job.trust(), job.sourceVolume(), job.allBlocks(), null, warnings);
    return new RestoreRequest(
        from,
        job.targets(),
        job.verify(),
        true,
        job.discard(),
        job.buffered(),
        job.remount(),
        job.grow(),
        job.growLast(),
        0,
        null,
        job.newIds());
  }

  /** Runs the jobs, up to {@code parallel} at once, showing their events on this thread. */
  private int run(ActorSystem<Void> system, List<JobsFile.Job> jobs) throws InterruptedException {
    long start = System.nanoTime();
    Deque<Integer> pending = new ArrayDeque<>();
    for (int i = 0; i < jobs.size(); i++) {
      pending.add(i);
    }
    Map<Integer, Running> running = new LinkedHashMap<>();
    Ended[] ended = new Ended[jobs.size()];
    boolean interrupted = false;
    Main.onInterrupt(() -> events.add(new Tagged(-1, null)));
    try {
      while (!pending.isEmpty() || !running.isEmpty()) {
        while (running.size() < parallel && !pending.isEmpty()) {
          int i = pending.poll();
          JobsFile.Job job = jobs.get(i);
          RestoreRequest request = request(i, job);
          Display display =
              json
                  ? new JsonDisplay(Terminal.out(), job.name())
                  : new JobLines(Terminal.out(), job.name());
          if (!json) {
            Terminal.out()
                .println(
                    job.name()
                        + ": restoring "
                        + job.source()
                        + " onto "
                        + String.join(", ", job.targets()));
          }
          running.put(
              i,
              new Running(
                  JobRunner.start(system, request, e -> events.add(new Tagged(i, e))),
                  display,
                  JobRunner.silenceMillis(request)));
        }
        Tagged t = events.poll(1, TimeUnit.SECONDS);
        long now = System.nanoTime();
        if (t == null) {
          for (var it = running.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            Running r = e.getValue();
            if (TimeUnit.NANOSECONDS.toMillis(now - r.lastEvent) > r.silence) {
              LoggerFactory.getLogger(BatchCommand.class)
                  .error(
                      "job {} gave no sign of life for {} ms",
                      jobs.get(e.getKey()).name(),
                      r.silence);
              r.runner.cancel("stopped answering");
              ended[e.getKey()] =
                  end(
                      jobs.get(e.getKey()),
                      r,
                      new RestoreJob.Result(
                          RestoreJob.Status.INTERNAL_ERROR,
                          "internal error: the restore job stopped answering (details in the log);"
                              + " its targets are left not looking valid",
                          List.of()));
              it.remove();
            }
          }
          continue;
        }
        if (t.job() < 0) {
          if (!interrupted) {
            interrupted = true;
            running.values().forEach(r -> r.runner.cancel("interrupted"));
            for (int i : pending) {
              ended[i] =
                  new Ended(
                      jobs.get(i),
                      "cancelled",
                      ExitCode.INTERRUPTED,
                      "not started: interrupted",
                      0);
            }
            pending.clear();
          }
          continue;
        }
        Running r = running.get(t.job());
        if (r == null) {
          continue; // given up on as stuck: what it says now comes too late
        }
        r.lastEvent = now;
        if (t.event() instanceof RestoreEvent.JobEnded end) {
          ended[t.job()] = end(jobs.get(t.job()), r, end.result());
          running.remove(t.job());
        } else {
          JobRunner.show(t.event(), r.display, r.models, jobs.get(t.job()).name() + ": ");
        }
      }
    } finally {
      Main.onInterrupt(null);
    }
    return summary(List.of(ended), System.nanoTime() - start, false);
  }

  /** A job's last line (text) or {@code jobEnded} event (JSON). */
  private Ended end(JobsFile.Job job, Running r, RestoreJob.Result result) {
    int code = JobRunner.exitCode(result.status());
    Ended e =
        new Ended(
            job,
            result.status().name().toLowerCase(Locale.ROOT),
            code,
            result.message(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - r.started));
    if (r.display instanceof JsonDisplay j) {
      j.emit(
          Json.object(
              "event", "jobEnded",
              "status", e.status(),
              "exitCode", code,
              "message", e.message(),
              "elapsedMillis", e.millis()));
    } else {
      r.display.finished(code == ExitCode.OK, result.message());
    }
    return e;
  }

  /** Checks every job as its restore would before writing, and says what it would do. */
  private int dryRun(List<JobsFile.Job> jobs, TargetPlanner planner) throws IOException {
    List<Ended> results = new ArrayList<>();
    for (int i = 0; i < jobs.size(); i++) {
      JobsFile.Job job = jobs.get(i);
      long t0 = System.nanoTime();
      RestoreRequest request = request(i, job);
      List<TargetCheck.Plan> plans = new ArrayList<>();
      String status = "succeeded";
      int code = ExitCode.OK;
      String message;
      long size = 0;
      long needed = 0;
      try {
        for (String t : job.targets()) {
          plans.add(planner.inspect(t));
        }
        planner.checkDistinct(plans, request.source());
        try (ChunkSupply supply = SourceOpener.open(request.source())) {
          size = supply.logicalSize();
          needed = TargetPlanner.needed(supply, request.source());
          planner.checkSizes(plans, supply, request.source());
          dev.imprint.engine.job.AfterRestore.checkNewIds(request, TargetPlanner.headerOf(supply));
        }
        message =
            "would restore "
                + job.source()
                + " ("
                + Sizes.human(size)
                + ", needs "
                + Sizes.human(needed)
                + ") onto "
                + describe(plans)
                + options(job);
      } catch (Refusal e) {
        status = e.problem() == Refusal.Problem.DAMAGED ? "damaged" : "refused";
        code = e.problem() == Refusal.Problem.DAMAGED ? ExitCode.DAMAGED : ExitCode.BAD_INPUT;
        message = "would be refused: " + e.getMessage();
      } catch (IOException e) {
        status = "refused";
        code = ExitCode.BAD_INPUT;
        message = "would be refused: " + e.getMessage();
      }
      Ended e =
          new Ended(
              job, status, code, message, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      results.add(e);
      if (json) {
        List<Map<String, Object>> targets = new ArrayList<>();
        for (TargetCheck.Plan p : plans) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("target", p.spec());
          m.put("device", p.path().toString());
          m.put("model", p.model());
          m.put("size", p.size());
          targets.add(m);
        }
        new JsonDisplay(Terminal.out(), job.name())
            .emit(
                Json.object(
                    "event", "dryRun",
                    "ok", code == ExitCode.OK,
                    "exitCode", code,
                    "message", message,
                    "source", job.source(),
                    "size", size,
                    "needed", needed,
                    "targets", targets));
      } else {
        Terminal.out().println(job.name() + ": " + message);
      }
    }
    return summary(results, 0, true);
  }

  private static String describe(List<TargetCheck.Plan> plans) {
    List<String> out = new ArrayList<>();
    for (TargetCheck.Plan p : plans) {
      out.add(
          p.spec()
              + " ("
              + (p.path().toString().equals(p.spec()) ? "" : p.path() + ", ")
              + p.model()
              + (p.size() > 0 ? ", " + Sizes.human(p.size()) : "")
              + (p.mounts().isEmpty() ? "" : ", unmounting " + p.mounts().size())
              + ")");
    }
    return String.join(", ", out);
  }

  private static String options(JobsFile.Job j) {
    List<String> o = new ArrayList<>();
    o.add(j.verify() ? "then verify" : "no verify");
    if (j.newIds()) {
      o.add("new ids");
    }
    if (j.grow()) {
      o.add("grow");
    }
    if (j.growLast()) {
      o.add("grow the last partition");
    }
    if (!j.trust().isEmpty()) {
      o.add("signed by a trusted key");
    }
    return "; " + String.join(", ", o);
  }

  /** The table (text) or {@code batch} event (JSON), the last line, and the worst exit code. */
  private int summary(List<Ended> results, long nanos, boolean dry) {
    int worst = ExitCode.OK;
    int ok = 0;
    for (Ended e : results) {
      if (SEVERITY.indexOf(e.exitCode()) > SEVERITY.indexOf(worst)) {
        worst = e.exitCode();
      }
      ok += e.exitCode() == ExitCode.OK ? 1 : 0;
    }
    String line =
        dry
            ? "Dry run: " + ok + " of " + results.size() + " jobs would run; nothing was written."
            : "Batch finished: "
                + ok
                + " of "
                + results.size()
                + " jobs succeeded"
                + (worst == ExitCode.OK ? "." : " (exit " + worst + ").");
    if (json) {
      JsonDisplay out = new JsonDisplay(Terminal.out());
      if (!dry) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Ended e : results) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("job", e.job().name());
          m.put("status", e.status());
          m.put("exitCode", e.exitCode());
          m.put("message", e.message());
          m.put("elapsedMillis", e.millis());
          m.put("targets", e.job().targets());
          list.add(m);
        }
        out.emit(
            Json.object(
                "event",
                "batch",
                "elapsedMillis",
                TimeUnit.NANOSECONDS.toMillis(nanos),
                "jobs",
                list));
      }
      out.emit(
          Json.object(
              "event", "finished", "ok", worst == ExitCode.OK, "message", line, "exitCode", worst));
      return worst;
    }
    if (!dry) {
      table(results);
    }
    Terminal.out().println(line);
    return worst;
  }

  private static void table(List<Ended> results) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"JOB", "RESULT", "EXIT", "TIME", "TARGETS", "MESSAGE"});
    for (Ended e : results) {
      rows.add(
          new String[] {
            e.job().name(),
            e.status(),
            Integer.toString(e.exitCode()),
            String.format(Locale.ROOT, "%.1fs", e.millis() / 1000.0),
            String.join(",", e.job().targets()),
            e.message().lines().findFirst().orElse("")
          });
    }
    int[] w = new int[6];
    for (String[] r : rows) {
      for (int c = 0; c < 5; c++) {
        w[c] = Math.max(w[c], r[c].length());
      }
    }
    Terminal.out().println();
    for (String[] r : rows) {
      StringBuilder b = new StringBuilder();
      for (int c = 0; c < 6; c++) {
        boolean right = c == 2 || c == 3;
        String cell = c < 5 ? pad(r[c], w[c], right) : r[c];
        b.append(cell).append(c < 5 ? "  " : "");
      }
      Terminal.out().println(b.toString().stripTrailing());
    }
  }

  private static String pad(String s, int width, boolean right) {
    String fill = " ".repeat(Math.max(0, width - s.length()));
    return right ? fill + s : s + fill;
  }
}
