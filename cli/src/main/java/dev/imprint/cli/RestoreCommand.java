package dev.imprint.cli;

import dev.imprint.actors.restore.Precheck;
import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.RestoreJob;
import dev.imprint.actors.restore.TargetState;
import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.JsonDisplay;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.filecopy.FileCopyOptions;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.job.RestoreRequest;
import dev.imprint.engine.job.SourceSpec;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
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

@Command(
    name = "restore",
    mixinStandardHelpOptions = true,
    description = {
      "Restore an image (or a raw image, or a disk) onto one or more targets at once,",
      "then read every target back and verify it. Targets are block devices, partitions",
      "or image files. asr's spellings work: -source, -target, -erase, -noprompt, -noverify."
    },
    footer = {
      "",
      "Examples:",
      "  imprint restore --source golden.imprint --target /dev/sdb --erase",
      "  imprint restore --source golden.imprint --target /dev/sdb --target /dev/sdc \\",
      "      --erase --noprompt --json",
      "  imprint -source disk.img.xz -target /dev/sdb -erase -noprompt",
      "  imprint restore --source /dev/sda --target /dev/sdb --erase   (disk to disk)",
      "  imprint restore --source https://host/golden.imprint --target /dev/sdb --erase",
      "  imprint restore --source /srv/golden-tree --target /mnt/data   (file copy, no erase)",
      "      (proxies from https_proxy / no_proxy; --cacert FILE for a private CA)",
      "  curl -s http://host/golden.imprint | imprint restore --source - --target disk.img \\",
      "      --erase --noprompt"
    })
final class RestoreCommand implements Callable<Integer> {
  @Option(
      names = {"--source", "-source"},
      required = true,
      paramLabel = "SRC",
      description =
          "Imprint image, raw or compressed raw image, block device, or - (standard input).")
  String source;

  @Option(
      names = {"--target", "-target"},
      paramLabel = "T",
      description = "Block device, partition or image file; repeat for several targets.")
  List<String> targets;

  @Option(
      names = {"--erase", "-erase"},
      description =
          "Erase the targets and restore block by block. Without it, copy the source's items onto"
              + " one mounted volume, replacing same-named items and keeping the rest.")
  boolean erase;

  @Option(
      names = {"--noprompt", "-noprompt"},
      description = "Don't ask before erasing (this is the agreement to erase and unmount).")
  boolean noprompt;

  @Option(
      names = {"--noverify", "-noverify"},
      description = "Skip reading the targets back after the restore.")
  boolean noverify;

  @Option(
      names = {"--trust", "-trust"},
      paramLabel = "KEY.pub",
      description = "Restore only images signed by this public key (repeatable).")
  List<Path> trust;

  @Option(names = "--discard", description = "TRIM unallocated ranges on targets that support it.")
  boolean discard;

  @Option(names = "--buffered", description = "Write through the page cache instead of O_DIRECT.")
  boolean buffered;

  @Option(
      names = {"--remount", "-remount"},
      description =
          "Mount every filesystem unmounted from a target back where it was, with its options"
              + " (the default for a target named by its mount point).")
  boolean remount;

  @Option(
      names = {"--noremount", "-noremount"},
      description = "Leave targets unmounted after the restore, even one named by its mount point.")
  boolean noremount;

  @Option(
      names = "--grow",
      description =
          "After restoring a volume onto a larger partition, grow its filesystem to fill it"
              + " (ext2/3/4, xfs, btrfs).")
  boolean grow;

  @Option(
      names = "--grow-last-partition",
      description =
          "Whole-device GPT images: extend the last partition to the end of each target and"
              + " grow its filesystem.")
  boolean growLast;

  @Option(
      names = "--source-volume",
      paramLabel = "N",
      description = "Restore only partition N of a whole-device image (onto a partition).")
  Integer sourceVolume;

  @Option(
      names = "--new-ids",
      description =
          "After restoring and verifying, give each target fresh GPT disk and partition GUIDs"
              + " (or MBR disk signature) and fresh filesystem UUIDs/serials (ext2/3/4, xfs,"
              + " btrfs, FAT, NTFS), then check them.")
  boolean newIds;

  @Option(
      names = "--all-blocks",
      description =
          "For raw images and disks: copy every block, even those the filesystems say are free.")
  boolean allBlocks;

  @Option(
      names = "--exclude",
      paramLabel = "PATTERN",
      description =
          "File copy (no --erase): leave out items matching this glob (repeatable); without a"
              + " slash it matches names at any depth, with one the path from the source's top.")
  List<String> excludes;

  @Option(
      names = "--delete",
      description =
          "File copy (no --erase): also remove target items the source doesn't have, so the"
              + " copied directories mirror it.")
  boolean delete;

  @Option(
      names = "--bmap",
      paramLabel = "FILE",
      description =
          "For raw and compressed raw images: the bmap (from bmaptool create) whose ranges are"
              + " copied and checked; by default IMAGE.bmap beside the image is used, as bmaptool"
              + " finds it.")
  java.nio.file.Path bmap;

  @Mixin OutputOptions outputOptions;

  @Mixin RemoteOptions remote;

  @Mixin ServerClientOptions server;

  /** What the job tells this front end, shown in order on the command's own thread. */
  private final BlockingQueue<RestoreEvent> events = new LinkedBlockingQueue<>();

  @Override
  public Integer call() throws Exception {
    try (Pekko pekko = Pekko.startInBackground()) {
      return call(pekko);
    }
  }

  private Integer call(Pekko pekko) throws Exception {
    if (server.file != null) {
      return server.receiveFile(source, targets, remote.http(), outputOptions.display());
    }
    if (targets == null || targets.isEmpty()) {
      throw new UserError(
          "Missing required option: '--target=T' (or --file PATH with an asr:// source)");
    }
    if (!erase) {
      // asr's second mode: copy items onto a mounted volume, keeping the rest (FileCopyRestore).
      String blockOnly =
          sourceVolume != null
              ? "--source-volume"
              : trust != null
                  ? "--trust"
                  : grow || growLast
                      ? "--grow"
                      : discard
                          ? "--discard"
                          : buffered ? "--buffered" : allBlocks ? "--all-blocks" : null;
      if (blockOnly != null) {
        throw new UserError(
            blockOnly
                + " belongs to the block restore: add --erase to restore block by block, or leave"
                + " it out to copy files onto a mounted volume");
      }
      return new FileCopyRestore(
              source,
              targets,
              noprompt,
              new FileCopyOptions(!noverify, excludes == null ? List.of() : excludes, delete, 0),
              outputOptions.display())
          .run(pekko);
    }
    if (remount && noremount) {
      throw new UserError("--remount and --noremount exclude each other: choose one");
    }
    RestoreRequest request = request();
    // The job's first step (read-only) runs while the actor system may still be starting.
    Precheck precheck = Precheck.start(request);
    Map<String, String> models = new LinkedHashMap<>();
    Display display = outputOptions.display(targets, models);
    return run(pekko.get(), request, precheck, display, models);
  }

  private RestoreRequest request() {
    server.requireServer(source);
    if (!isServer()) {
      remote.requireHttp(source);
    }
    java.util.function.Consumer<String> warnings =
        w -> {
          LoggerFactory.getLogger(RestoreCommand.class).warn("{}", w);
          events.add(new RestoreEvent.Warning(w));
        };
    // Outages and slow servers become warning events, shown (and in JSON) in order.
    HttpOptions http = isHttp() || isServer() ? remote.http().withNotices(warnings) : null;
    if (isServer()) {
      http = server.withToken(http);
    }
    if (http != null) {
      // An https:// source's TLS context is set up while the actor system starts, not after.
      HttpRangeReader.prepare(http, source);
    }
    SourceSpec from =
        new SourceSpec(
            source,
            http,
            trust,
            sourceVolume,
            allBlocks,
            () -> new BufferedInputStream(Terminal.in(), 1 << 20),
            warnings,
            bmap,
            isServer() ? server.options() : null);
    return new RestoreRequest(
        from,
        targets,
        !noverify,
        noprompt,
        discard,
        buffered,
        remount
            ? RestoreRequest.Remount.ALL
            : noremount ? RestoreRequest.Remount.NONE : RestoreRequest.Remount.NAMED_MOUNT_POINTS,
        grow,
        growLast,
        0,
        null,
        newIds);
  }

  private boolean isHttp() {
    return dev.imprint.engine.http.HttpUrls.isHttpUrl(source);
  }

  private boolean isServer() {
    return dev.imprint.engine.control.ControlChannel.isServerUrl(source);
  }

  /**
   * Runs the job and shows its events on this thread; asks for consent when the job wants it; a job
   * that dies or goes silent past its stall limit becomes exit 70, never a hang.
   */
  private int run(
      ActorSystem<Void> system,
      RestoreRequest request,
      Precheck precheck,
      Display display,
      Map<String, String> models)
      throws IOException, InterruptedException {
    JobRunner job = JobRunner.start(system, request, precheck, events::add);
    Main.onInterrupt(() -> job.cancel("interrupted"));
    try {
      long silence = JobRunner.silenceMillis(request);
      while (true) {
        RestoreEvent e = events.poll(silence, TimeUnit.MILLISECONDS);
        if (e == null) {
          LoggerFactory.getLogger(RestoreCommand.class)
              .error("the restore job gave no sign of life for {} ms", silence);
          Terminal.err()
              .println(
                  "imprint: internal error: the restore job stopped answering (details in the"
                      + " log); targets are left not looking valid");
          return ExitCode.INTERNAL;
        }
        if (e instanceof RestoreEvent.JobEnded end) {
          return ended(end.result(), display);
        }
        JobRunner.show(e, display, models, "");
        if (e instanceof RestoreEvent.Planned p && p.consentNeeded()) {
          job.tell(consent(p.targets()));
        }
      }
    } finally {
      Main.onInterrupt(null);
    }
  }

  /** The job's result as the last line and the exit code. */
  private static int ended(RestoreJob.Result r, Display display) {
    int code = JobRunner.exitCode(r.status());
    if (display instanceof JsonDisplay json) {
      json.finished(code == ExitCode.OK, r.message(), r.status().name(), code);
    }
    // Nothing restored (refused, damaged before writing), or everything restored and a step
    // after it failed (grow, remount): one error line. Otherwise the per-target summary.
    boolean errorLine =
        r.outcomes().isEmpty()
            || (code != ExitCode.OK
                && r.outcomes().stream().allMatch(o -> o.state() == TargetState.DONE));
    if (errorLine && code != ExitCode.OK) {
      Terminal.err().println("imprint: " + r.message());
    } else if (!(display instanceof JsonDisplay)) {
      display.finished(code == ExitCode.OK, r.message());
    }
    return code;
  }

  /** asr's question, naming every target, the device under a mount point, and what unmounts. */
  private RestoreJob.Consent consent(List<RestoreEvent.TargetToErase> list) throws IOException {
    if (!Terminal.interactive() || SourceSpec.STDIN.equals(source)) {
      return new RestoreJob.Consent(
          false,
          "no terminal to ask whether to erase "
              + String.join(", ", targets)
              + ": add --noprompt (-noprompt) to agree in advance");
    }
    return Terminal.confirm("Erase contents of " + erasing(list) + "?")
        ? new RestoreJob.Consent(true, null)
        : new RestoreJob.Consent(false, "not erased: nothing was written");
  }

  /**
   * The targets as asr's question names them: the device (and the mount point named), model, size,
   * and what unmounts.
   */
  static String erasing(List<RestoreEvent.TargetToErase> list) {
    StringBuilder q = new StringBuilder();
    for (RestoreEvent.TargetToErase t : list) {
      if (q.length() > 0) {
        q.append(",\n  ");
      }
      q.append(t.device()).append(" (");
      if (!t.device().equals(t.target())) {
        q.append(t.target()).append(", ");
      }
      q.append(t.model());
      if (t.size() > 0) {
        q.append(", ").append(Sizes.human(t.size()));
      }
      q.append(')');
      for (String m : t.unmounts()) {
        q.append("; unmounts ").append(m);
      }
    }
    return q.toString();
  }
}
