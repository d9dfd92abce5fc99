package dev.imprint.cli;

import dev.imprint.cli.output.Display;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.job.RawSourceCheck;
import dev.imprint.engine.job.Refusal;
import dev.imprint.engine.pipeline.DiskChunks;
import dev.imprint.engine.pipeline.ImageScanner;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.pekko.stream.Materializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "imagescan",
    mixinStandardHelpOptions = true,
    description = {
      "Verify an image: everything a restore relies on. Reads it front to back as a pipe",
      "restore does (every record, the index, digest and trailers), checks every chunk's",
      "SHA-256 and every signature. Like 'asr imagescan', but Imprint images carry checksums",
      "from birth, so it checks rather than rewrites. Names the first damage; exits 4 on it.",
      "A foreign image is checked as far as it can check itself: a container's checksums, a",
      "zip entry's CRC32, each gzip member's CRC32 and size, a bmap's per-range checksums."
    },
    footer = {"", "Example:", "  imprint imagescan --source golden.imprint"})
final class ImagescanCommand implements Callable<Integer> {
  @Option(
      names = {"--source", "-source"},
      required = true,
      paramLabel = "IMAGE",
      description = "The image to check.")
  String source;

  @Mixin OutputOptions outputOptions;

  @picocli.CommandLine.Mixin RemoteOptions remote;

  @Override
  public Integer call() throws Exception {
    Display display = outputOptions.display();
    display.stepStarted("Validating image");
    Optional<ContainerDisk> container = ImageOpener.container(source, remote);
    if (container.isPresent()) {
      try (ContainerDisk c = container.get()) {
        display.stepDone("Validating image");
        try {
          c.scan(done -> display.progress("Block checksumming", done, c.size()));
        } catch (ImageFormatException e) {
          display.finished(false, "Image scan failed.");
          throw new UserError(e.getMessage(), ExitCode.DAMAGED);
        }
        display.finished(
            true,
            "Image "
                + source
                + " verified: every checksum the "
                + c.format().name()
                + " container keeps matches.");
      }
      return ExitCode.OK;
    }
    // A raw image in a wrapper (zip, compression, a bmap) is checked as far as it checks itself;
    // a bare one carries nothing to check and is refused below as not an Imprint image.
    Optional<DiskChunks> raw = ImageOpener.raw(source, remote, display::note);
    if (raw.isPresent()) {
      Optional<RawSourceCheck.Scan> scan;
      try (DiskChunks d = raw.get();
          Pekko pekko = Pekko.startInBackground()) {
        scan =
            RawSourceCheck.scan(
                ImageOpener.spec(source, remote, null),
                d,
                Materializer.matFromSystem(pekko.get()),
                Runtime.getRuntime().availableProcessors());
      } catch (Refusal e) {
        display.finished(false, "Image scan failed.");
        throw e;
      }
      if (scan.isPresent()) {
        display.stepDone("Validating image");
        display.finished(
            true,
            "Image " + source + " verified: " + String.join(", ", scan.get().checked()) + ".");
        return ExitCode.OK;
      }
    }
    try (Image image = ImageOpener.open(source, ExitCode.DAMAGED, remote)) {
      display.stepDone("Validating image");
      Optional<ImageFormatException> damage =
          ImageScanner.scan(
              image,
              Runtime.getRuntime().availableProcessors(),
              (done, total) -> display.progress("Block checksumming", done, total));
      if (damage.isPresent()) {
        display.finished(false, "Image scan failed.");
        throw new UserError(damage.get().getMessage(), ExitCode.DAMAGED);
      }
      display.finished(true, "Image " + source + " verified: every chunk is intact.");
    }
    return ExitCode.OK;
  }
}
