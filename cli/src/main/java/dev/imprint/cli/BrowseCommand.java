package dev.imprint.cli;

import dev.imprint.cli.output.Json;
import dev.imprint.engine.discovery.Discovery;
import java.net.NetworkInterface;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "browse",
    mixinStandardHelpOptions = true,
    description = {
      "List the multicast servers that advertise themselves over DNS-SD (their sessions,",
      "images and digests), waiting a few seconds for answers."
    },
    footer = {"", "Examples:", "  imprint browse", "  imprint browse --wait 10 --json"})
final class BrowseCommand implements Callable<Integer> {
  @Option(
      names = "--wait",
      paramLabel = "SECONDS",
      defaultValue = "3",
      description = "How long to listen for answers (default: ${DEFAULT-VALUE}).")
  int waitSeconds;

  @Option(
      names = {"--interface", "-interface"},
      paramLabel = "IF",
      description = "Network interface to ask on (default: the system's choice).")
  String networkInterface;

  @Option(
      names = {"--json", "-json"},
      description = "One JSON object per server.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (waitSeconds < 1 || waitSeconds > 300) {
      throw new UserError("--wait " + waitSeconds + " is out of range: use 1 to 300 seconds");
    }
    NetworkInterface nif = null;
    if (networkInterface != null) {
      nif = NetworkInterface.getByName(networkInterface);
      if (nif == null) {
        throw new UserError(
            "--interface "
                + networkInterface
                + " does not exist: see ip link for this machine's"
                + " interfaces");
      }
    }
    List<Discovery.Found> found =
        Discovery.browse(Discovery.addressOf(nif), Duration.ofSeconds(waitSeconds));
    for (Discovery.Found f : found) {
      if (json) {
        Terminal.out()
            .println(
                Json.object(
                    "schema",
                    1,
                    "event",
                    "server",
                    "name",
                    f.name(),
                    "url",
                    f.url(),
                    "image",
                    f.image(),
                    "digest",
                    f.digest()));
      } else {
        Terminal.out()
            .printf(
                "%-24s %-28s %-24s %s%n",
                f.name(),
                f.url(),
                f.image(),
                f.digest().length() > 16 ? f.digest().substring(0, 16) : f.digest());
      }
    }
    if (found.isEmpty() && !json) {
      Terminal.err()
          .println(
              "imprint: no server answered within "
                  + waitSeconds
                  + " s (servers with DNS Service Discovery false are not listed)");
    }
    return ExitCode.OK;
  }
}
