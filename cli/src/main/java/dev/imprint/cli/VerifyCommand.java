package dev.imprint.cli;

import dev.imprint.cli.output.Display;
import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.job.SourceSpec;
import dev.imprint.engine.layout.TargetFit;
import dev.imprint.engine.pipeline.Verifier;
import dev.imprint.engine.pipeline.VerifyPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
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
      "difference, naming the first bad offset."
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
    try (Image image = SourceOpener.openImage(spec)) {
      long needed = TargetFit.minimumSize(image.metadata());
      try (Pekko pekko = Pekko.startInBackground()) {
        ActorSystem<Void> system = pekko.get();
        Verifier verifier =
            new Verifier(
                Materializer.matFromSystem(system), Math.max(4 << 20, image.header().chunkSize()));
        for (String t : targets) {
          try (TargetDevice d = TargetDevice.open(Path.of(t), new OpenMode(false, true))) {
            if (d.size() < needed) {
              display.note("Target " + t + " is smaller than the image: it cannot hold this image");
              bad++;
              continue;
            }
            // What the restore wrote for a disk of this size (a relocated GPT included).
            var ranges = VerifyPlan.forTarget(image, d.size());
            Optional<Verifier.Mismatch> m =
                verifier
                    .verify(d, ranges, (done, total) -> display.progress("Verifying", done, total))
                    .toCompletableFuture()
                    .join();
            if (m.isPresent()) {
              display.note(
                  "Target " + t + " differs at byte " + m.get().offset() + ": " + m.get().what());
              bad++;
            } else {
              display.note("Target " + t + " matches the image.");
            }
          }
        }
      }
    }
    display.finished(bad == 0, bad == 0 ? "Verify completed successfully." : "Verify failed.");
    return bad == 0 ? ExitCode.OK : ExitCode.VERIFY_FAILED;
  }
}
