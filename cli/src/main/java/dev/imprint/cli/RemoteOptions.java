package dev.imprint.cli;

import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpUrls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** How HTTP(S) sources are fetched. Proxies come from https_proxy, http_proxy and no_proxy. */
final class RemoteOptions {
  /** The options that mean something only for an http(s) source. */
  private static final List<String> HTTP_ONLY =
      List.of("--connections", "--header", "--cacert", "--insecure", "--retry-for");

  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  @Option(
      names = "--connections",
      paramLabel = "N",
      defaultValue = "4",
      description = "Parallel HTTP connections for image chunks (default: ${DEFAULT-VALUE}).")
  int connections;

  @Option(
      names = "--header",
      paramLabel = "'NAME: VALUE'",
      description = "Extra HTTP request header, e.g. 'Authorization: Bearer TOKEN' (repeatable).")
  List<String> headers;

  @Option(
      names = "--cacert",
      paramLabel = "FILE",
      description = "Also trust the CA certificates in this PEM file (a private CA).")
  Path cacert;

  @Option(
      names = "--insecure",
      description = "Accept any TLS certificate and host name (not recommended).")
  boolean insecure;

  @Option(
      names = "--retry-for",
      paramLabel = "SECONDS",
      defaultValue = "300",
      description =
          "Keep retrying a broken or too slow transfer (under 64 KiB/s for 30 s) this long without"
              + " progress (default: ${DEFAULT-VALUE}; a server not reachable at the start: 10,"
              + " unless this option is given).")
  long retrySeconds;

  /** Whether the user typed {@code option} on this command line. */
  private boolean given(String option) {
    return command != null
        && command.commandLine() != null
        && command.commandLine().getParseResult() != null
        && command.commandLine().getParseResult().hasMatchedOption(option);
  }

  /**
   * Refuses HTTP-only options (--connections, --header, --cacert, --insecure, --retry-for) when
   * {@code source} is not an http(s) URL: they would be silently ignored.
   *
   * @throws UserError one line naming the options and the source
   */
  void requireHttp(String source) {
    if (source != null && HttpUrls.isHttpUrl(source)) {
      return;
    }
    List<String> wrong = new ArrayList<>();
    for (String o : HTTP_ONLY) {
      if (given(o)) {
        wrong.add(o);
      }
    }
    if (wrong.isEmpty()) {
      return;
    }
    String names = String.join(", ", wrong);
    throw new UserError(
        names
            + (wrong.size() == 1 ? " applies" : " apply")
            + " only to an http:// or https:// source, not to "
            + (source == null || source.equals("-") ? "standard input" : source)
            + ": drop "
            + (wrong.size() == 1 ? "it" : "them"));
  }

  HttpOptions http() {
    if (connections < 1 || connections > 64) {
      throw new UserError("--connections " + connections + " is out of range: use 1 to 64");
    }
    Duration budget = Duration.ofSeconds(Math.max(1, retrySeconds));
    HttpOptions o =
        HttpOptions.defaults()
            .withConnections(connections)
            .withInsecure(insecure)
            .withEnvironment(System.getenv())
            .withNotices(RemoteOptions::notice);
    // Asked for by name, the budget covers a server that is down at the start too; by default a
    // server that cannot be reached at all is reported after a short wait instead.
    o = given("--retry-for") ? o.withExplicitRetryBudget(budget) : o.withRetryBudget(budget);
    if (headers != null) {
      try {
        o = o.withHeaders(headers);
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage());
      }
    }
    if (cacert != null) {
      if (!Files.isReadable(cacert)) {
        throw new UserError("--cacert " + cacert + " cannot be read: check the path");
      }
      o = o.withCacert(cacert);
    }
    return o;
  }

  /** An outage, a recovery or a slow server: on the terminal and in the log. */
  private static void notice(String line) {
    LoggerFactory.getLogger(RemoteOptions.class).warn(line);
    Terminal.err().println("imprint: warning: " + line);
  }
}
