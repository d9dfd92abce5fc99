package dev.imprint.cli;

import dev.imprint.engine.signing.Keys;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "keygen",
    mixinStandardHelpOptions = true,
    description = "Make an Ed25519 key pair for signing images: KEY (private) and KEY.pub.",
    footer = {"", "Example:", "  imprint keygen --output release.key"})
final class KeygenCommand implements Callable<Integer> {
  @Option(
      names = {"--output", "-o"},
      required = true,
      paramLabel = "KEY",
      description = "Private key file to write; the public key goes to KEY.pub.")
  Path output;

  @Override
  public Integer call() throws Exception {
    if (output.toAbsolutePath().getParent() != null
        && !java.nio.file.Files.isDirectory(output.toAbsolutePath().getParent())) {
      throw new UserError(
          "directory " + output.toAbsolutePath().getParent() + " does not exist: create it");
    }
    KeyPair pair = Keys.generate();
    Keys.save(pair, output);
    Terminal.out()
        .println(
            "Wrote "
                + output
                + " (private: keep it secret) and "
                + Keys.publicFileFor(output)
                + "\nfingerprint "
                + Keys.fingerprint(Keys.rawPublic(pair.getPublic())));
    return ExitCode.OK;
  }
}
