package dev.imprint.cli;

import dev.imprint.engine.control.ClientOptions;
import dev.imprint.engine.control.ControlChannel;
import dev.imprint.engine.control.ImageDownload;
import dev.imprint.engine.http.HttpOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** How {@code restore} receives from a multicast server ({@code asr://HOST[:PORT]}). */
final class ServerClientOptions {
  private static final List<String> SERVER_ONLY =
      List.of(
          "--unicast-fallback", "--interface", "--timeout", "--token", "--repair-limit", "--file");

  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  @Option(
      names = "--unicast-fallback",
      description =
          "asr:// sources: when no multicast arrives, restore over the server's control channel"
              + " (HTTP ranges) instead of giving up.")
  boolean unicastFallback;

  @Option(
      names = {"--interface", "-interface"},
      paramLabel = "IF",
      description = "asr:// sources: the network interface to receive the stream on.")
  String networkInterface;

  @Option(
      names = {"--timeout", "-timeout"},
      paramLabel = "SECONDS",
      description = "asr:// sources: give up after this long without progress (0: wait forever).")
  Long timeoutSeconds;

  @Option(
      names = "--repair-limit",
      paramLabel = "SIZE",
      description =
          "asr:// sources: fetch at most this much of what the stream missed over the control"
              + " channel after a full loop (default 32M; 0: wait for later loops).")
  String repairLimit;

  @Option(
      names = {"--file", "-file"},
      paramLabel = "PATH",
      description =
          "asr:// sources: receive the server's image into this Imprint image file instead of"
              + " restoring it (resumable: PATH.part).")
  Path file;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "asr:// sources: the token the server asks for (its --token).")
  String token;

  private boolean given(String option) {
    return command != null
        && command.commandLine() != null
        && command.commandLine().getParseResult() != null
        && command.commandLine().getParseResult().hasMatchedOption(option);
  }

  /** Refuses these options for a source that is not a server: they would be ignored. */
  void requireServer(String source) {
    if (ControlChannel.isServerUrl(source)) {
      if (timeoutSeconds != null && timeoutSeconds < 0) {
        throw new UserError(
            "--timeout " + timeoutSeconds + " is negative: give seconds, 0 = forever");
      }
      return;
    }
    List<String> wrong = new ArrayList<>();
    for (String o : SERVER_ONLY) {
      if (given(o)) {
        wrong.add(o);
      }
    }
    if (!wrong.isEmpty()) {
      throw new UserError(
          String.join(", ", wrong)
              + " only applies to an asr:// or imprint:// source, not to "
              + source
              + ": drop it");
    }
  }

  ClientOptions options() {
    return new ClientOptions(
        unicastFallback,
        networkInterface,
        timeoutSeconds == null ? Duration.ZERO : Duration.ofSeconds(timeoutSeconds),
        ClientOptions.DEFAULT_MULTICAST_WAIT,
        repairLimit == null
            ? ClientOptions.DEFAULT_REPAIR_BUDGET
            : dev.imprint.cli.output.Sizes.parse(repairLimit));
  }

  /** {@code --file PATH}: the image received into a file, checked, renamed into place. */
  int receiveFile(
      String source, List<String> targets, HttpOptions http, dev.imprint.cli.output.Display display)
      throws Exception {
    requireServer(source);
    if (targets != null && !targets.isEmpty()) {
      throw new UserError("--file and --target exclude each other: choose one");
    }
    String digest =
        ImageDownload.fetch(
            source,
            withToken(http),
            file,
            (done, total) -> display.progress("Receiving", done, total));
    display.finished(true, "Received image " + digest + " into " + file + ", every chunk checked.");
    return ExitCode.OK;
  }

  /** The HTTP options with the token's header added. */
  HttpOptions withToken(HttpOptions http) {
    if (token == null) {
      return http;
    }
    List<String> h = new ArrayList<>(http.headers());
    h.add(ControlChannel.AUTHORIZATION + ": Bearer " + token);
    return http.withHeaders(h);
  }
}
