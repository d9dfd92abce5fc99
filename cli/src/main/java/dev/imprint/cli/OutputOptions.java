package dev.imprint.cli;

import dev.imprint.cli.output.AsrDisplay;
import dev.imprint.cli.output.Display;
import dev.imprint.cli.output.JsonDisplay;
import dev.imprint.cli.output.PuppetDisplay;
import dev.imprint.cli.output.SlotDisplay;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** How a command shows progress: asr's dots by default, or machine-readable lines. */
final class OutputOptions {
  @Option(
      names = {"--json", "-json"},
      description = "Print one JSON object per event (see README, 'JSON events').")
  boolean json;

  @Option(
      names = {"--puppetstrings", "-puppetstrings"},
      description = "Print asr's machine-readable progress (XSTA/PSTT lines).")
  boolean puppetstrings;

  Display display(List<String> targets, Map<String, String> models) {
    if (json && puppetstrings) {
      throw new UserError("--json and --puppetstrings exclude each other: choose one");
    }
    if (json) {
      return new JsonDisplay(Terminal.out());
    }
    if (puppetstrings) {
      return new PuppetDisplay(Terminal.out());
    }
    if (targets.size() > 1 && Terminal.interactive()) {
      return new SlotDisplay(Terminal.out(), targets, models);
    }
    return new AsrDisplay(Terminal.out(), Math.max(1, targets.size()));
  }

  Display display() {
    return display(List.of(), Map.of());
  }
}
