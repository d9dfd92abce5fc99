package dev.imprint.cli;

import dev.imprint.actors.station.StationConfig;
import dev.imprint.cli.station.StationFrontEnd;
import dev.imprint.cli.station.StationWeb;
import dev.imprint.engine.audit.AuditLog;
import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.discovery.DeviceWatcher;
import dev.imprint.engine.discovery.SlotMap;
import dev.imprint.engine.discovery.Sysfs;
import dev.imprint.engine.job.ImageFacts;
import dev.imprint.engine.job.SourceSpec;
import dev.imprint.engine.rules.Condition;
import dev.imprint.engine.rules.DriveRules;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code imprint station}: image every drive the rules accept as it is plugged in. */
@Command(
    name = "station",
    mixinStandardHelpOptions = true,
    description = {
      "Cloning station: watch for drives, and give every drive the rules accept",
      "the image, verified, with a board and an audit log.",
      "Without --erase it only lists what it would do.",
      "",
      "Examples:",
      "  imprint station --source golden.imprint --erase",
      "  imprint station --source golden.imprint --erase \\",
      "      --match 'bus=usb,size<=256G' --once 8",
      "  imprint station --source golden.imprint --slot-map slots.txt --learn-slots"
    })
final class StationCommand implements Callable<Integer> {
  /** Where the audit log lives unless told: IMPRINT_STATE_DIR, else /var/lib/imprint. */
  static Path stateDir() {
    String env = System.getenv("IMPRINT_STATE_DIR");
    return Path.of(env == null || env.isEmpty() ? "/var/lib/imprint" : env);
  }

  @Option(
      names = {"--source", "-source"},
      required = true,
      paramLabel = "SRC",
      description =
          "The image: an Imprint image, a raw or compressed raw image, or an http(s) URL; not a"
              + " pipe (each drive reads it anew).")
  String source;

  @Option(
      names = {"--erase", "-erase"},
      description = "Consent to erase every drive the rules accept. Without it: list only.")
  boolean erase;

  @Option(
      names = "--match",
      paramLabel = "COND[,COND...]",
      description =
          "Accept drives meeting all these conditions instead of the default rule (removable or"
              + " USB); repeatable (any may match). Keys: bus, name, model, vendor, serial, slot,"
              + " label, backing, removable, size (e.g. size<=256G).")
  List<String> match = new ArrayList<>();

  @Option(
      names = "--exclude",
      paramLabel = "COND[,COND...]",
      description = "Never image drives meeting all these conditions; repeatable.")
  List<String> exclude = new ArrayList<>();

  @Option(
      names = "--max-size",
      paramLabel = "SIZE",
      defaultValue = "2T",
      description = "Never image a drive larger than this (default ${DEFAULT-VALUE}).")
  String maxSize;

  @Option(
      names = "--include-present",
      description = "Also image drives that were attached before the station started.")
  boolean includePresent;

  @Option(
      names = "--slot-map",
      paramLabel = "FILE",
      description = "Slot labels: 'LABEL PORT [armed]' lines.")
  Path slotMap;

  @Option(
      names = "--learn-slots",
      description =
          "Label ports in turn (A1, A2, ...) as one drive is plugged into each; writes nothing to"
              + " drives. Needs --slot-map.")
  boolean learnSlots;

  @Option(names = "--armed", description = "Image only slots the slot map marks 'armed'.")
  boolean armed;

  @Option(
      names = "--probe-capacity",
      paramLabel = "WHEN",
      defaultValue = "usb",
      description = "Fake-capacity probe before writing: usb (default), always, never.")
  String probe;

  @Option(
      names = {"--noverify", "-noverify"},
      description = "Do not read drives back after writing.")
  boolean noverify;

  @Option(
      names = "--new-ids",
      description =
          "After each drive verified, give it fresh GPT disk and partition GUIDs and fresh"
              + " filesystem UUIDs/serials (recorded in the audit log).")
  boolean newIds;

  @Option(
      names = "--eject",
      description =
          "Power each drive down once it is done, where the kernel allows it (USB, SATA).")
  boolean eject;

  @Option(
      names = "--once",
      paramLabel = "N",
      description = "Stop after N drives have finished; exit 0 only if all succeeded.")
  int once;

  @Option(
      names = "--audit",
      paramLabel = "FILE",
      description =
          "The audit log (JSON lines; default STATE_DIR/audit.jsonl, STATE_DIR from"
              + " IMPRINT_STATE_DIR or /var/lib/imprint).")
  Path audit;

  @Option(
      names = "--no-uevents",
      description =
          "Find drives by rescanning /sys/block twice a second instead of kernel uevents.")
  boolean noUevents;

  @Option(
      names = "--sysfs",
      paramLabel = "DIR",
      description = "Read drives from this sysfs tree instead of /sys (a recorded one; list only).")
  Path sysfs;

  @Option(
      names = {"--trust", "-trust"},
      paramLabel = "KEY.pub",
      description = "Use the image only if signed by this public key (repeatable).")
  List<Path> trust;

  @Mixin RemoteOptions remote;

  @Option(
      names = {"--json", "-json"},
      description = "Print one JSON object per event (docs/STATION.md).")
  boolean json;

  @Option(
      names = "--http",
      paramLabel = "[ADDR:]PORT",
      description =
          "Serve the board as a web page with a JSON API and Prometheus /metrics (address"
              + " 127.0.0.1 unless given; port 0 picks one).")
  String http;

  @Option(
      names = "--http-token",
      paramLabel = "TOKEN",
      description =
          "Let requests carrying this token (Authorization: Bearer TOKEN) arm and disarm slots"
              + " and stop the station; without it the page is read-only.")
  String httpToken;

  @Override
  public Integer call() throws Exception {
    try (Pekko pekko = Pekko.startInBackground()) {
      return run(pekko);
    }
  }

  private Integer run(Pekko pekko) throws Exception {
    if (learnSlots && slotMap == null) {
      throw new UserError(
          "--learn-slots writes the labels it learns to a file: add --slot-map FILE");
    }
    if (sysfs != null && erase) {
      throw new UserError(
          "--sysfs reads a recorded tree whose devices are not this machine's: it lists only, drop"
              + " --erase");
    }
    if (once < 0) {
      throw new UserError("--once needs a number of drives, 1 or more");
    }
    if (httpToken != null && http == null) {
      throw new UserError("--http-token unlocks the web page: add --http [ADDR:]PORT");
    }
    if (httpToken != null && httpToken.length() < 12) {
      throw new UserError("--http-token is too short to guess safely: use 12 characters or more");
    }
    StationWeb.Options web;
    try {
      web =
          http == null
              ? null
              : new StationWeb.Options(
                  StationWeb.Options.parse(http), java.util.Optional.ofNullable(httpToken));
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    StationConfig.Probe when =
        switch (probe) {
          case "usb" -> StationConfig.Probe.USB;
          case "always" -> StationConfig.Probe.ALWAYS;
          case "never" -> StationConfig.Probe.NEVER;
          default ->
              throw new UserError("--probe-capacity " + probe + ": say usb, always or never");
        };
    List<List<Condition>> matches = new ArrayList<>();
    List<List<Condition>> excludes = new ArrayList<>();
    long max;
    try {
      for (String m : match) {
        matches.add(Condition.parseAll(m));
      }
      for (String x : exclude) {
        excludes.add(Condition.parseAll(x));
      }
      max = Condition.parseSize(maxSize);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    remote.requireHttp(source);
    dev.imprint.engine.http.HttpOptions httpSource =
        dev.imprint.engine.http.HttpUrls.isHttpUrl(source) ? remote.http() : null;
    if (httpSource != null) {
      // An https:// source's TLS context is set up now, not when the first drive arrives.
      dev.imprint.engine.http.HttpRangeReader.prepare(httpSource, source);
    }
    SourceSpec spec =
        new SourceSpec(
            source,
            httpSource,
            trust,
            null,
            false,
            () -> new BufferedInputStream(Terminal.in(), 1 << 20),
            null);
    ImageFacts facts = ImageFacts.inspect(spec);
    SlotMap slots;
    try {
      slots = slotMap == null ? SlotMap.empty() : SlotMap.read(slotMap);
    } catch (IOException e) {
      throw new UserError(e.getMessage());
    }
    AuditLog log = null;
    if (erase && !learnSlots) {
      Path file = audit != null ? audit : stateDir().resolve("audit.jsonl");
      try {
        log = AuditLog.open(file);
      } catch (IOException e) {
        throw new UserError(
            "cannot open the audit log "
                + file
                + " ("
                + e
                + "): give --audit FILE or set IMPRINT_STATE_DIR to a writable directory");
      }
    }
    Sysfs tree =
        sysfs == null
            ? Sysfs.system()
            : new Sysfs(sysfs, sysfs.resolveSibling("run/udev/data"), Path.of("/nonexistent-dev"));
    StationConfig config =
        new StationConfig(
            spec,
            facts,
            new DriveRules(
                facts.needed(),
                max,
                matches,
                excludes,
                // A recorded tree's drives are not this machine's: nothing to ask the system.
                sysfs == null
                    ? DriveRules.SystemCheck.of(new SystemDisks())
                    : d -> Optional.empty()),
            slots,
            slotMap,
            learnSlots,
            armed,
            includePresent,
            erase && !learnSlots,
            when,
            !noverify,
            eject,
            once,
            log,
            Main.version(),
            tree,
            sysfs != null
                ? new DeviceWatcher.Options(false, Duration.ofSeconds(2), Duration.ofMillis(150))
                : DeviceWatcher.Options.defaults(!noUevents),
            newIds);
    try (AuditLog closing = log) {
      return StationFrontEnd.run(
          pekko.get(),
          config,
          json,
          Terminal.out(),
          Terminal.interactive(),
          Main::onInterrupt,
          Main::onSecondInterrupt,
          web);
    } catch (IOException e) {
      throw new UserError(e.getMessage());
    }
  }
}
