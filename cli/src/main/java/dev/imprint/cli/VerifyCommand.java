package dev.imprint.cli;

import dev.imprint.cli.output.Display;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.job.RawSourceCheck;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.job.SourceSpec;
import dev.imprint.engine.layout.TargetFit;
import dev.imprint.engine.pipeline.Chunk;
import dev.imprint.engine.pipeline.DiskChunks;
import dev.imprint.engine.pipeline.Verifier;
import dev.imprint.engine.pipeline.VerifyPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.pekko.stream.Materializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "Check disks restored earlier against an image: read each target back past the page",
      "cache and compare every data chunk's SHA-256 and every zero range. Exits 3 on a",
      "difference, naming the first bad offset. A raw, compressed or zipped image (and one",
      "with a bmap: only its mapped ranges, their checksums checked) is read as restore reads it."
    },
    footer = {
      "",
      "Examples:",
      "  imprint verify --source golden.imprint --target /dev/sdb",
      "  imprint verify --source https://host/golden.imprint --target /dev/sdb"
    })
final class VerifyCommand implements Callable<Integer> {
  @Option(
      names = {"--source", "-source"},
      required = true,
      paramLabel = "IMAGE",
      description = "The image the targets should hold.")
  String source;

  @Option(
      names = {"--target", "-target"},
      required = true,
      paramLabel = "T",
      description = "Disk or image file to check; repeatable.")
  List<String> targets;

  @Mixin OutputOptions outputOptions;

  @Mixin RemoteOptions remote;

  @Override
  public Integer call() throws Exception {
    Display display = outputOptions.display();
    for (String t : targets) {
      if (!Files.exists(Path.of(t))) {
        throw new UserError("target " + t + " does not exist: check the path");
      }
    }
    int bad = 0;
    remote.requireHttp(source);
    SourceSpec spec =
        new SourceSpec(
            source,
            HttpUrls.isHttpUrl(source) ? remote.http() : null,
            null,
            null,
            false,
            null,
            null);
    Optional<ContainerDisk> container = SourceOpener.openContainer(spec);
    Optional<DiskChunks> raw;
    if (container.isPresent()) {
      try (ContainerDisk c = container.get();
          Pekko pekko = Pekko.startInBackground()) {
        Materializer mat = Materializer.matFromSystem(pekko.get());
        // What the restore wrote: the container's chunks, read once and hashed.
        List<Chunk.Range> ranges =
            VerifyPlan.forDisk(
                    c, SourceOpener.used(c, false), mat, Runtime.getRuntime().availableProcessors())
                .toCompletableFuture()
                .join();
        Verifier verifier = new Verifier(mat, 4 << 20);
        for (String t : targets) {
          bad += check(display, verifier, t, c.size(), size -> ranges);
        }
      }
    } else if ((raw = ImageOpener.raw(source, remote, display::note)).isPresent()) {
      try (DiskChunks d = raw.get();
          Pekko pekko = Pekko.startInBackground()) {
        Materializer mat = Materializer.matFromSystem(pekko.get());
        // What the restore wrote, read through the restore's own readers (a bmap: its ranges).
        List<Chunk.Range> ranges =
            RawSourceCheck.expected(d, mat, Runtime.getRuntime().availableProcessors());
        long size = d.logicalSize();
        for (Chunk.Range r : ranges) {
          size = Math.max(size, r.end());
        }
        Verifier verifier = new Verifier(mat, 4 << 20);
        for (String t : targets) {
          bad += check(display, verifier, t, size, s -> ranges);
        }
      }
    } else {
      try (Image image = SourceOpener.openImage(spec);
          Pekko pekko = Pekko.startInBackground()) {
        Verifier verifier =
            new Verifier(
                Materializer.matFromSystem(pekko.get()),
                Math.max(4 << 20, image.header().chunkSize()));
        for (String t : targets) {
          // What the restore wrote for a disk of this size (a relocated GPT included).
          bad +=
              check(
                  display,
                  verifier,
                  t,
                  TargetFit.minimumSize(image.metadata()),
                  size -> VerifyPlan.forTarget(image, size));
        }
      }
    }
    display.finished(bad == 0, bad == 0 ? "Verify completed successfully." : "Verify failed.");
    return bad == 0 ? ExitCode.OK : ExitCode.VERIFY_FAILED;
  }

  /** What a target of a given size should hold. */
  private interface Expected {
    List<Chunk.Range> forSize(long targetSize) throws IOException;
  }

  /** Checks one target: 0 when it matches, 1 when it does not. */
  private static int check(
      Display display, Verifier verifier, String t, long needed, Expected expected)
      throws IOException {
    try (TargetDevice d = TargetDevice.open(Path.of(t), new OpenMode(false, true))) {
      if (d.size() < needed) {
        display.note("Target " + t + " is smaller than the image: it cannot hold this image");
        return 1;
      }
      Optional<Verifier.Mismatch> m =
          verifier
              .verify(
                  d,
                  expected.forSize(d.size()),
                  (done, total) -> display.progress("Verifying", done, total))
              .toCompletableFuture()
              .join();
      if (m.isPresent()) {
        display.note(
            "Target " + t + " differs at byte " + m.get().offset() + ": " + m.get().what());
        return 1;
      }
      display.note("Target " + t + " matches the image.");
      return 0;
    }
  }
}
