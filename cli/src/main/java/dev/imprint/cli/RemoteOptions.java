package dev.imprint.cli;

import dev.imprint.engine.http.HttpOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;

/** How HTTP(S) sources are fetched. Proxies come from https_proxy, http_proxy and no_proxy. */
final class RemoteOptions {
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
          "Keep retrying a broken transfer this long without progress (default: ${DEFAULT-VALUE}).")
  long retrySeconds;

  HttpOptions http() {
    if (connections < 1 || connections > 64) {
      throw new UserError("--connections " + connections + " is out of range: use 1 to 64");
    }
    HttpOptions o =
        HttpOptions.defaults()
            .withConnections(connections)
            .withRetryBudget(Duration.ofSeconds(Math.max(1, retrySeconds)))
            .withInsecure(insecure)
            .withEnvironment(System.getenv());
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
}
