package dev.imprint.cli;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageMetadata;
import dev.imprint.engine.image.ImageSigning;
import dev.imprint.engine.signing.Keys;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "sign",
    mixinStandardHelpOptions = true,
    description = {
      "Sign an existing image with an Ed25519 key. The image's digest does not change;",
      "restore --trust KEY.pub then accepts it."
    },
    footer = {"", "Example:", "  imprint sign --source golden.imprint --key release.key"})
final class SignCommand implements Callable<Integer> {
  @Option(
      names = {"--source", "-source"},
      required = true,
      paramLabel = "IMAGE",
      description = "The image to sign (changed in place).")
  String source;

  @Option(names = "--key", required = true, paramLabel = "KEY", description = "Private key.")
  Path key;

  @Override
  public Integer call() throws Exception {
    PrivateKey priv = Keys.loadPrivate(key);
    PublicKey pub = Keys.publicOf(key);
    ImageMetadata md;
    try (Image image = ImageOpener.open(source, ExitCode.DAMAGED)) {
      md = image.metadata();
    }
    ImageSigning.append(Path.of(source), md, Keys.sign(priv, pub, md.digest()));
    Terminal.out().println("Signed " + source + " with " + Keys.fingerprint(Keys.rawPublic(pub)));
    return ExitCode.OK;
  }
}
