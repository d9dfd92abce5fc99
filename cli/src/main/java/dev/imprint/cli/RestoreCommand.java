package dev.imprint.cli;

import dev.imprint.actors.restore.RestoreEvent;
import dev.imprint.actors.restore.RestoreSession;
import dev.imprint.actors.restore.TargetState;
import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.device.DeviceException;
import dev.imprint.engine.device.DeviceInfo;
import dev.imprint.engine.device.Mount;
import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.device.TargetCheck;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.filesystem.Grow;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.http.HttpStream;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.MetadataCheck;
import dev.imprint.engine.image.Partition;
import dev.imprint.engine.image.PartitionScheme;
import dev.imprint.engine.layout.DiskLayout;
import dev.imprint.engine.layout.TargetFit;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.CreateOptions;
import dev.imprint.engine.pipeline.DiskChunks;
import dev.imprint.engine.pipeline.ImageChunks;
import dev.imprint.engine.pipeline.RestoreOptions;
import dev.imprint.engine.pipeline.StreamedImageChunks;
import dev.imprint.engine.pipeline.TableFix;
import dev.imprint.engine.pipeline.TargetWriter;
import dev.imprint.engine.source.DecodedDisk;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.Magic;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.Sources;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
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
      required = true,
      paramLabel = "T",
      description = "Block device, partition or image file; repeat for several targets.")
  List<String> targets;

  @Option(
      names = {"--erase", "-erase"},
      description = "Erase the targets and restore block by block (required).")
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
          "After a volume restore onto a partition that was mounted, mount it back where it was.")
  boolean remount;

  /** What was unmounted from each target, for --remount. */
  private final Map<String, List<Mount>> unmounted = new LinkedHashMap<>();

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
      names = "--all-blocks",
      description =
          "For raw images and disks: copy every block, even those the filesystems say are free.")
  boolean allBlocks;

  @Mixin OutputOptions outputOptions;

  @Mixin RemoteOptions remote;

  @Override
  public Integer call() throws Exception {
    try (Pekko pekko = Pekko.startInBackground()) {
      return call(pekko);
    }
  }

  private Integer call(Pekko pekko) throws Exception {
    if (!erase) {
      throw new UserError(
          "block restore erases the targets: add --erase (-erase) to agree; restoring files"
              + " onto a mounted volume without erasing is a separate mode, not yet available");
    }
    TargetCheck check = new TargetCheck(new SystemDisks());
    Map<String, String> models = new LinkedHashMap<>();
    Display display = outputOptions.display(targets, models);

    List<TargetCheck.Plan> plans = new ArrayList<>();
    Path sourcePath = source.equals("-") || HttpUrls.isHttpUrl(source) ? null : Path.of(source);
    step(
        display,
        "Validating target",
        () -> {
          for (String t : targets) {
            TargetCheck.Plan p = check.inspect(t);
            plans.add(p);
            models.put(t, p.model() + (p.size() > 0 ? ", " + Sizes.human(p.size()) : ""));
          }
          check.checkDistinct(plans, sourcePath);
          return null;
        });
    ChunkSupply supply = step(display, "Validating source", this::openSource);
    boolean started = false;
    List<TargetDevice> opened = new ArrayList<>();
    try {
      confirm(plans);
      long imageSize = supply.logicalSize();
      long needed =
          supply instanceof ImageChunks ic && sourceVolume == null
              ? TargetFit.minimumSize(ic.image().metadata())
              : imageSize;
      step(
          display,
          "Validating sizes",
          () -> {
            for (TargetCheck.Plan p : plans) {
              check.checkSize(p, needed, imageSize);
            }
            return null;
          });
      for (TargetCheck.Plan p : plans) {
        if (!p.mounts().isEmpty()) {
          unmounted.put(
              p.spec(), step(display, "Unmounting " + p.spec(), () -> check.unmountAll(p)));
        }
      }
      List<TargetWriter> writers = new ArrayList<>();
      for (TargetCheck.Plan p : plans) {
        TargetDevice d = refusing(() -> TargetDevice.open(p.path(), new OpenMode(true, !buffered)));
        opened.add(d);
        writers.add(new TargetWriter(p.spec(), d, discard, needed < imageSize));
      }
      started = true;
      return run(supply, writers, display, pekko.get());
    } finally {
      if (!started) {
        supply.close();
        for (TargetDevice d : opened) {
          d.close();
        }
      }
    }
  }

  private int run(
      ChunkSupply supply, List<TargetWriter> writers, Display display, ActorSystem<Void> system) {
    int cores = Runtime.getRuntime().availableProcessors();
    RestoreSession.Job job =
        new RestoreSession.Job(
            supply,
            writers,
            new RestoreOptions(
                Math.max(cores + 1, HttpUrls.isHttpUrl(source) ? remote.connections : 0),
                discard,
                RestoreOptions.DEFAULT_HELD_REGION,
                tableFix(supply)),
            !noverify,
            Math.max(4 << 20, supply.chunkSize()));
    CompletableFuture<RestoreEvent.Finished> finished = new CompletableFuture<>();
    {
      ActorRef<RestoreEvent> listener =
          system.systemActorOf(
              Behaviors.receive(RestoreEvent.class)
                  .onMessage(
                      RestoreEvent.class,
                      e -> {
                        display.restoreEvent(e);
                        if (e instanceof RestoreEvent.Finished f) {
                          finished.complete(f);
                        }
                        return Behaviors.same();
                      })
                  .build(),
              "display",
              Props.empty());
      system.systemActorOf(RestoreSession.create(job, listener), "restore", Props.empty());
      RestoreEvent.Finished f = finished.join();
      int code = summarize(f, display);
      if (code == ExitCode.OK && (grow || growLast)) {
        code = growFilesystems(supply, display);
      }
      if (code == ExitCode.OK && remount) {
        code = remountTargets(display);
      }
      return code;
    }
  }

  /** --remount: each filesystem unmounted from a target goes back where it was. */
  private int remountTargets(Display display) {
    int code = ExitCode.OK;
    for (var e : unmounted.entrySet()) {
      for (Mount m : e.getValue()) {
        String step = "Remounting target volume " + m.device() + " on " + m.mountPoint();
        display.stepStarted(step);
        try {
          Process p =
              new ProcessBuilder(
                      "mount", m.readOnly() ? "-r" : "-w", m.device(), m.mountPoint().toString())
                  .redirectErrorStream(true)
                  .start();
          String out = new String(p.getInputStream().readAllBytes()).trim();
          if (p.waitFor() != 0) {
            throw new IOException(out.isEmpty() ? "mount failed" : out);
          }
          display.stepDone(step);
        } catch (IOException e2) {
          display.stepFailed(step);
          Terminal.err().println("imprint: cannot remount " + m.device() + ": " + e2.getMessage());
          code = ExitCode.TARGETS_FAILED;
        } catch (InterruptedException e2) {
          Thread.currentThread().interrupt();
          return ExitCode.INTERRUPTED;
        }
      }
    }
    return code;
  }

  /** --grow and --grow-last-partition, after a restore that succeeded everywhere. */
  private int growFilesystems(ChunkSupply supply, Display display) {
    ImageHeader h = supply instanceof ImageChunks ic ? ic.image().header() : null;
    if (h == null) {
      display.note("Not growing: only Imprint images record their filesystems");
      return ExitCode.OK;
    }
    Partition part = null;
    for (Partition p : h.partitions()) {
      if (sourceVolume != null
          ? p.number() == sourceVolume
          : growLast
              ? part == null || p.offset() + p.length() > part.offset() + part.length()
              : p.number() == 0) {
        part = p;
      }
    }
    if (part == null) {
      display.note("Not growing: the image records no filesystem to grow");
      return ExitCode.OK;
    }
    int code = ExitCode.OK;
    for (String t : targets) {
      String step = "Growing filesystem on " + t;
      display.stepStarted(step);
      try (TargetDevice d = TargetDevice.open(Path.of(t), new OpenMode(false, false))) {
        long size = d.size();
        long offset = growLast ? part.offset() : 0;
        // The grown last partition ends before the backup GPT (33 sectors of 512 bytes).
        long length = growLast ? size - 33L * Math.max(512, h.sectorSize()) - offset : size;
        String how = Grow.grow(Path.of(t), offset, length, part.filesystem());
        display.stepDone(step);
        display.note(how);
      } catch (IOException e) {
        display.stepFailed(step);
        Terminal.err().println("imprint: " + t + ": " + e.getMessage());
        code = ExitCode.TARGETS_FAILED;
      }
    }
    return code;
  }

  /** Whole-device GPT images get their table fitted to each target's size. */
  private TableFix tableFix(ChunkSupply supply) {
    if (sourceVolume != null) {
      return null;
    }
    ImageHeader h =
        supply instanceof ImageChunks ic
            ? ic.image().header()
            : supply instanceof StreamedImageChunks sc ? sc.header() : null;
    if (h == null || h.kind() != ImageKind.DEVICE || h.scheme() != PartitionScheme.GPT) {
      return null;
    }
    return TableFix.gpt(h.sectorSize(), h.logicalSize(), growLast);
  }

  private int summarize(RestoreEvent.Finished f, Display display) {
    int failed = 0;
    int verifyFailed = 0;
    for (RestoreEvent.Outcome o : f.outcomes()) {
      if (o.state() != TargetState.DONE) {
        if (o.verifyFailed()) {
          verifyFailed++;
        } else {
          failed++;
        }
      }
    }
    int n = f.outcomes().size();
    if (failed == 0 && verifyFailed == 0) {
      display.finished(true, "Restore completed successfully.");
      return ExitCode.OK;
    }
    StringBuilder b =
        new StringBuilder(
            "Restore failed on "
                + (failed + verifyFailed)
                + " of "
                + n
                + " target"
                + (n == 1 ? "" : "s")
                + ":");
    for (RestoreEvent.Outcome o : f.outcomes()) {
      b.append("\n  ").append(o.target()).append(": ");
      b.append(o.state() == TargetState.DONE ? "restored and verified" : o.detail());
    }
    display.finished(false, b.toString());
    return failed > 0 ? ExitCode.TARGETS_FAILED : ExitCode.VERIFY_FAILED;
  }

  private void confirm(List<TargetCheck.Plan> plans) throws IOException {
    if (noprompt) {
      return;
    }
    if (!Terminal.interactive() || source.equals("-")) {
      throw new UserError(
          "no terminal to ask whether to erase "
              + String.join(", ", targets)
              + ": add --noprompt (-noprompt) to agree in advance");
    }
    StringBuilder q = new StringBuilder();
    for (TargetCheck.Plan p : plans) {
      if (q.length() > 0) {
        q.append(",\n  ");
      }
      q.append(p.spec()).append(" (").append(p.model());
      if (p.size() > 0) {
        q.append(", ").append(Sizes.human(p.size()));
      }
      q.append(')');
      for (Mount m : p.mounts()) {
        q.append("; unmounts ").append(m.device()).append(" from ").append(m.mountPoint());
      }
    }
    if (!Terminal.confirm("Erase contents of " + q + "?")) {
      throw new UserError("not erased: nothing was written");
    }
  }

  private ChunkSupply openSource() throws IOException {
    MetadataCheck trusted =
        md -> ImageOpener.requireTrusted(md, trust, source.equals("-") ? "standard input" : source);
    if (source.equals("-")) {
      return fromStream(
          new BufferedInputStream(Terminal.in(), 1 << 20),
          "standard input",
          OptionalLong.empty(),
          trusted);
    }
    if (HttpUrls.isHttpUrl(source)) {
      return openHttp(trusted);
    }
    if (!Files.exists(Path.of(source))) {
      throw new UserError("source " + source + " does not exist: check the path");
    }
    if (Sources.detect(source) == Magic.Format.IMPRINT) {
      return imageChunks(ImageOpener.open(source, ExitCode.BAD_INPUT), trusted);
    }
    if (sourceVolume != null) {
      throw new UserError(
          "--source-volume needs an Imprint image of a whole device; " + source + " is not one");
    }
    requireNoTrust();
    DiskSource disk = Sources.open(source);
    if (disk instanceof RandomAccessDisk r && !allBlocks) {
      // A raw image or a disk cloned directly: copy only what its filesystems use.
      boolean volume = r.isBlockDevice() && DeviceInfo.probe(Path.of(source)).isPartition();
      DiskLayout layout = DiskLayout.analyze(r, volume);
      return new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE, layout.used());
    }
    return new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE);
  }

  private ChunkSupply imageChunks(Image image, MetadataCheck trusted) throws IOException {
    try {
      trusted.check(image.metadata());
      if (sourceVolume == null) {
        return new ImageChunks(image);
      }
      for (Partition p : image.header().partitions()) {
        if (p.number() == sourceVolume) {
          return new ImageChunks(image, p.offset(), p.length());
        }
      }
      StringBuilder have = new StringBuilder();
      for (Partition p : image.header().partitions()) {
        have.append(have.length() == 0 ? "" : ", ").append(p.number());
      }
      throw new UserError(
          "image "
              + source
              + " has no partition "
              + sourceVolume
              + (have.length() == 0 ? " (it records none)" : ": it has " + have)
              + "; see imprint info");
    } catch (IOException | RuntimeException e) {
      image.close();
      throw e;
    }
  }

  /** An image or raw disk arriving as a stream: sniffed, then read in one pass. */
  private ChunkSupply fromStream(
      InputStream in, String where, OptionalLong length, MetadataCheck trusted) throws IOException {
    in.mark(16);
    byte[] head = in.readNBytes(Magic.HEAD_LENGTH);
    in.reset();
    if (head.length == 0) {
      throw new UserError(where + " is empty: give an image or a raw disk");
    }
    Magic.Format f = Magic.sniff(head, head.length);
    if (f == Magic.Format.IMPRINT) {
      try {
        return new StreamedImageChunks(in, where, trusted);
      } catch (ImageFormatException e) {
        throw new UserError(e.getMessage());
      }
    }
    requireNoTrust();
    return new DiskChunks(
        DecodedDisk.open(where, in, f, f == Magic.Format.RAW ? length : OptionalLong.empty()),
        CreateOptions.DEFAULT_CHUNK_SIZE);
  }

  /**
   * An http(s) source: an Imprint image is read at random with parallel range requests; a raw or
   * compressed raw image streams through one resumable GET.
   */
  private ChunkSupply openHttp(MetadataCheck trusted) throws IOException {
    HttpOptions opts = remote.http();
    URI uri;
    try {
      uri = HttpUrls.parse(source);
    } catch (HttpSourceException e) {
      throw new UserError(e.getMessage());
    }
    try {
      HttpRangeReader r = null;
      try {
        r = HttpRangeReader.open(uri, opts);
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(Magic.HEAD_LENGTH, r.length()));
        r.readFully(head, 0);
        if (Magic.sniff(head.array(), head.position()) == Magic.Format.IMPRINT) {
          try {
            return imageChunks(Image.open(r), trusted);
          } catch (ImageFormatException e) {
            throw new UserError(e.getMessage());
          }
        }
        r.close();
      } catch (HttpSourceException e) {
        ImageOpener.closeQuietly(r);
        if (e.kind() != HttpSourceException.Kind.NO_RANGES) {
          throw e;
        }
        // No range support: an image can still be read front to back.
      }
      HttpStream stream =
          HttpStream.open(uri, opts, msg -> Terminal.err().println("imprint: warning: " + msg));
      return fromStream(
          new BufferedInputStream(stream, 1 << 20), stream.description(), stream.length(), trusted);
    } catch (HttpSourceException e) {
      throw new UserError(e.getMessage());
    }
  }

  private void requireNoTrust() {
    if (trust != null && !trust.isEmpty()) {
      throw new UserError(
          "source "
              + source
              + " is a raw image, which carries no signature, but --trust was"
              + " given: restore a signed Imprint image, or drop --trust");
    }
  }

  private interface Step<T> {
    T run() throws IOException;
  }

  /** Shows a step around a check; a refusal ends the step's line before the error line. */
  private static <T> T step(Display display, String name, Step<T> check) {
    display.stepStarted(name);
    try {
      T t = refusing(check);
      display.stepDone(name);
      return t;
    } catch (RuntimeException e) {
      display.stepFailed(name);
      throw e;
    }
  }

  /** Runs a check; its refusal becomes one line and exit code 2 (nothing written). */
  private static <T> T refusing(Step<T> step) {
    try {
      return step.run();
    } catch (TargetCheck.Refused | DeviceException e) {
      throw new UserError(e.getMessage());
    } catch (IOException e) {
      throw new UserError(e.getMessage());
    }
  }
}
