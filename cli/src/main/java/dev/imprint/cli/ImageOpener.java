package dev.imprint.cli;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.job.RawSourceCheck;
import dev.imprint.engine.job.Refusal;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.job.SourceSpec;
import dev.imprint.engine.pipeline.DiskChunks;
import java.io.IOException;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Opens an Imprint image named on the command line through the engine's {@link SourceOpener}, with
 * messages that say what to do.
 */
final class ImageOpener {
  private ImageOpener() {}

  /**
   * The foreign container (qcow2, VHD, VHDX…) named on the command line, a local file or an http(s)
   * URL fetched with {@code remote}; empty when it is anything else.
   */
  static Optional<ContainerDisk> container(String spec, RemoteOptions remote) throws IOException {
    boolean http = HttpUrls.isHttpUrl(spec);
    if (!http) {
      remote.requireHttp(spec);
    }
    return SourceOpener.openContainer(spec(spec, remote, null));
  }

  /**
   * What a restore reads as a raw disk (a raw or compressed raw image, a zip of one, one with a
   * bmap), opened as a restore opens it; empty for an Imprint image.
   */
  static Optional<DiskChunks> raw(String spec, RemoteOptions remote, Consumer<String> warnings)
      throws IOException {
    return RawSourceCheck.open(spec(spec, remote, warnings));
  }

  /** The source named on the command line, fetched with {@code remote} when it is a URL. */
  static SourceSpec spec(String spec, RemoteOptions remote, Consumer<String> warnings) {
    return new SourceSpec(
        spec, HttpUrls.isHttpUrl(spec) ? remote.http() : null, null, null, false, null, warnings);
  }

  static Image open(String spec, int damagedExit) throws IOException {
    return open(spec, damagedExit, null);
  }

  /** Opens a local image, or one at an http(s) URL fetched with {@code remote}. */
  static Image open(String spec, int damagedExit, RemoteOptions remote) throws IOException {
    boolean http = HttpUrls.isHttpUrl(spec);
    if (remote != null && !http) {
      remote.requireHttp(spec);
    }
    HttpOptions options =
        remote == null || !http
            ? HttpOptions.defaults().withEnvironment(System.getenv())
            : remote.http();
    try {
      return SourceOpener.openImage(new SourceSpec(spec, options, null, null, false, null, null));
    } catch (Refusal e) {
      throw new UserError(
          e.getMessage(),
          e.problem() == Refusal.Problem.DAMAGED ? damagedExit : ExitCode.BAD_INPUT);
    }
  }
}
