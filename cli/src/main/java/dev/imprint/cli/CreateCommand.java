package dev.imprint.cli;

import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.Json;
import dev.imprint.cli.output.JsonDisplay;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.codec.Compression;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.device.DeviceInfo;
import dev.imprint.engine.device.FileKind;
import dev.imprint.engine.device.Mount;
import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.ImageMetadata;
import dev.imprint.engine.image.ImageWriter;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.job.SourceSpec;
import dev.imprint.engine.layout.DiskLayout;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.pipeline.CreateOptions;
import dev.imprint.engine.pipeline.CreatePipeline;
import dev.imprint.engine.signing.Keys;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.SequentialDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Materializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "create",
    mixinStandardHelpOptions = true,
    description = {
      "Make an Imprint image of a disk, a partition, or a raw (optionally compressed) image.",
      "Zero chunks and holes take no space; every chunk carries its SHA-256."
    },
    footer = {
      "",
      "Examples:",
      "  imprint create --source /dev/sdb --output golden.imprint",
      "  imprint create --source disk.img.xz --output disk.imprint --compress zstd:9",
      "  imprint create --source https://example.com/disk.img.zst --output disk.imprint",
      "  xzcat disk.img.xz | imprint create --source - --output disk.imprint --sign release.key"
    })
final class CreateCommand implements Callable<Integer> {
  @Option(
      names = {"--source", "-source"},
      required = true,
      paramLabel = "SRC",
      description =
          "Block device, raw image file, compressed raw image, an http(s) URL of either, or - for"
              + " standard input.")
  String source;

  @Option(
      names = {"--output", "-output", "-o"},
      required = true,
      paramLabel = "IMAGE",
      description = "Image file to write (written under a temporary name, then renamed).")
  Path output;

  @Option(
      names = "--chunk-size",
      paramLabel = "N",
      defaultValue = "4M",
      description = "Chunk size, a power of two from 64K to 64M (default: ${DEFAULT-VALUE}).")
  String chunkSize;

  @Option(
      names = "--compress",
      paramLabel = "CODEC",
      defaultValue = "zstd:3",
      description = "zstd[:LEVEL] (1-19), lz4 or none (default: ${DEFAULT-VALUE}).")
  String compress;

  @Option(names = "--sign", paramLabel = "KEY", description = "Sign with this Ed25519 key.")
  Path signKey;

  @Option(
      names = "--volume",
      description = "Record the source as a single volume rather than a whole device.")
  boolean volume;

  @Option(
      names = "--all-blocks",
      description =
          "Copy every non-zero block, even those the filesystems say are free"
              + " (default: only used blocks of ext2/3/4, FAT, NTFS and XFS).")
  boolean allBlocks;

  @Option(
      names = "--force",
      description = "Image a source that is mounted read-write (the copy may be inconsistent).")
  boolean force;

  @Option(
      names = "--overwrite",
      description = "Replace an existing image at --output (without it, a terminal is asked).")
  boolean overwrite;

  @Option(
      names = "--threads",
      paramLabel = "N",
      description = "Compression threads, 1 to " + MAX_THREADS + " (default: all cores).")
  Integer threads;

  /** More threads than this only multiply buffers: nothing has that many cores to run them. */
  static final int MAX_THREADS = 1024;

  @Mixin OutputOptions outputOptions;

  @Mixin RemoteOptions remote;

  @Override
  public Integer call() throws Exception {
    try (Pekko pekko = Pekko.startInBackground()) {
      return call(pekko);
    }
  }

  private Integer call(Pekko pekko) throws Exception {
    Compression compression;
    int cs;
    try {
      compression = Compression.parse(compress);
      long size = Sizes.parse(chunkSize);
      if (size > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("chunk size " + chunkSize + " is too large: use 4M");
      }
      cs = (int) size;
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    if (threads != null && (threads < 1 || threads > MAX_THREADS)) {
      throw new UserError(
          "--threads "
              + threads
              + " is out of range: use 1 to "
              + MAX_THREADS
              + ", or leave it out to use every core");
    }
    int par = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    boolean http = HttpUrls.isHttpUrl(source);
    if (!http) {
      remote.requireHttp(source);
    }
    if (!volume && source.startsWith("/dev/")) {
      // A partition holds one volume, never a partition table of its own.
      try {
        volume = DeviceInfo.probe(Path.of(source)).isPartition();
      } catch (java.io.IOException e) {
        // SourceOpener.openDisk below reports a bad source with a better message.
      }
    }
    CreateOptions options;
    try {
      options =
          new CreateOptions(
              cs,
              compression,
              volume ? ImageKind.VOLUME : ImageKind.DEVICE,
              par,
              "imprint " + Main.version());
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    PrivateKey key = null;
    PublicKey pub = null;
    if (signKey != null) {
      key = Keys.loadPrivate(signKey);
      pub = Keys.publicOf(signKey);
    }
    checkOutput();
    Display display = outputOptions.display();
    SourceSpec spec =
        new SourceSpec(
            source,
            http ? remote.http() : null,
            null,
            null,
            allBlocks,
            Terminal::in,
            w -> {
              org.slf4j.LoggerFactory.getLogger(CreateCommand.class).warn("{}", w);
              display.note(w);
            });
    try (DiskSource disk = SourceOpener.openDisk(spec)) {
      refuseMountedSource(disk);
      long size =
          disk instanceof RandomAccessDisk r ? r.size() : ((SequentialDisk) disk).size().orElse(0);
      int sector = disk instanceof RandomAccessDisk r ? r.sectorSize() : 512;
      boolean volume = options.kind() == ImageKind.VOLUME;
      DiskLayout layout =
          !(disk instanceof RandomAccessDisk r)
              ? new DiskLayout(PartitionScheme.NONE, List.of(), null, List.of())
              : allBlocks ? DiskLayout.tableOnly(r, volume) : DiskLayout.analyze(r, volume);
      if (disk instanceof ContainerDisk c) {
        display.note("source: " + c.format().name() + " container");
      }
      for (String note : layout.notes()) {
        display.note(note);
      }
      List<Extent> used =
          disk instanceof RandomAccessDisk r && !allBlocks
              ? SourceOpener.used(r, layout)
              : layout.used();
      ImageHeader header =
          new ImageHeader(
              ImageHeader.MAJOR,
              ImageHeader.MINOR,
              size,
              sector,
              cs,
              options.kind(),
              compression.codec(),
              layout.scheme(),
              Instant.now(),
              options.creator(),
              disk.description(),
              layout.partitions());
      long t0 = System.nanoTime();
      ActorSystem<Void> system = pekko.get();
      ImageMetadata md;
      try (ImageWriter writer = ImageWriter.create(output, header)) {
        CreatePipeline pipeline = new CreatePipeline(Materializer.matFromSystem(system), options);
        pipeline
            .run(disk, used, writer, (done, total) -> display.progress("Imaging", done, total))
            .toCompletableFuture()
            .join();
        PrivateKey k = key;
        PublicKey p = pub;
        md = writer.finish(List.of(), k == null ? null : digest -> Keys.sign(k, p, digest));
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      report(display, md, secs);
    }
    return ExitCode.OK;
  }

  /**
   * The output must not be the source under any name (the finished image would be renamed over it)
   * and must not replace an existing file unless asked to. Runs before anything is written.
   */
  private void checkOutput() throws java.io.IOException {
    if (FileKind.probe(output) == FileKind.DIRECTORY) {
      throw new UserError(
          "output "
              + output
              + " is a directory: name the image file, e.g. "
              + output.resolve("disk.imprint"));
    }
    if (!source.equals("-")
        && !HttpUrls.isHttpUrl(source)
        && Files.exists(output)
        && Files.exists(Path.of(source))
        && Files.isSameFile(output, Path.of(source))) {
      throw new UserError(
          "output "
              + output
              + " is the source "
              + source
              + ": the image would replace the disk it is made of; write it somewhere else");
    }
    if (!Files.exists(output, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (FileKind.probe(output) != FileKind.REGULAR_FILE) {
      throw new UserError(
          "output " + output + " exists and is not a regular file: name a new image file");
    }
    if (overwrite) {
      return;
    }
    if (!Terminal.interactive() || source.equals("-")) {
      throw new UserError(
          "output "
              + output
              + " already exists: add --overwrite to replace it, or choose another name");
    }
    if (!Terminal.confirm("Replace the existing " + output + "?")) {
      throw new UserError("output " + output + " kept: nothing was written");
    }
  }

  private void refuseMountedSource(DiskSource disk) throws java.io.IOException {
    if (!(disk instanceof RandomAccessDisk r) || !r.isBlockDevice()) {
      return;
    }
    DeviceInfo info = DeviceInfo.probe(Path.of(source));
    for (Mount m : new SystemDisks().mountsOn(info)) {
      if (!m.readOnly() && !force) {
        throw new UserError(
            "source "
                + source
                + " is mounted read-write on "
                + m.mountPoint()
                + ": files change while it is copied, so the image would be inconsistent; "
                + "unmount it (or remount read-only), or add --force");
      }
    }
  }

  private void report(Display display, ImageMetadata md, double secs) throws java.io.IOException {
    long stored = Files.size(output);
    long data = md.bytesOf(RangeKind.DATA);
    String digest = HexFormat.of().formatHex(md.digest());
    if (display instanceof JsonDisplay j) {
      j.emit(
          Json.object(
              "event",
              "created",
              "output",
              output.toString(),
              "logicalSize",
              md.header().logicalSize(),
              "dataBytes",
              data,
              "zeroBytes",
              md.bytesOf(RangeKind.ZERO),
              "imageBytes",
              stored,
              "seconds",
              Math.round(secs * 1000) / 1000.0,
              "digest",
              digest,
              "signed",
              !md.signatures().isEmpty()));
      return;
    }
    display.finished(
        true,
        String.format(
            java.util.Locale.ROOT,
            "Created %s: %s disk, %s of data, %s image (%.1fx) in %.1f s%ndigest sha256:%s%s",
            output,
            Sizes.human(md.header().logicalSize()),
            Sizes.human(data),
            Sizes.human(stored),
            stored == 0 ? 0.0 : (double) md.header().logicalSize() / stored,
            secs,
            digest,
            md.signatures().isEmpty()
                ? ""
                : "\nsigned by " + Keys.fingerprint(md.signatures().get(0).publicKey())));
  }
}
