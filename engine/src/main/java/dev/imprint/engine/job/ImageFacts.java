package dev.imprint.engine.job;

import dev.imprint.engine.device.FileKind;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.ImageChunks;
import dev.imprint.engine.signing.Keys;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What a front end that runs many jobs from one source (the station) learns from it once, before
 * the first drive: that it can be read more than once, how many bytes a target needs, and the
 * image's identity for the audit log.
 *
 * @param name the source as named
 * @param needed bytes a target must hold
 * @param digest "sha256:HEX" of an Imprint image, "" for raw sources
 * @param signers fingerprints of the image's signatures
 */
public record ImageFacts(String name, long needed, String digest, List<String> signers) {
  public ImageFacts {
    signers = List.copyOf(signers);
  }

  /**
   * Opens the source, reads what it says about itself and closes it again. Refuses a source that
   * can be read only once (standard input, a pipe, a character device): every drive reads it anew.
   */
  public static ImageFacts inspect(SourceSpec source) throws IOException {
    if (source.isStdin()) {
      throw new Refusal(
          "the station reads its source once per drive, and standard input can be read only once:"
              + " save the image to a file and give its path");
    }
    Path local = source.localPath();
    if (local != null) {
      FileKind kind = FileKind.probe(local);
      if (kind == FileKind.PIPE || kind == FileKind.CHARACTER_DEVICE) {
        throw new Refusal(
            local
                + " can be read only once (a pipe), and the station reads its source once per"
                + " drive: save the image to a file and give its path");
      }
    }
    try (ChunkSupply supply = SourceOpener.open(source)) {
      long needed = Math.max(0, TargetPlanner.needed(supply, source));
      String digest = "";
      List<String> signers = new ArrayList<>();
      if (supply instanceof ImageChunks ic) {
        digest = "sha256:" + HexFormat.of().formatHex(ic.image().metadata().digest());
        ic.image()
            .metadata()
            .signatures()
            .forEach(s -> signers.add(Keys.fingerprint(s.publicKey())));
      }
      return new ImageFacts(source.spec(), needed, digest, signers);
    }
  }
}
