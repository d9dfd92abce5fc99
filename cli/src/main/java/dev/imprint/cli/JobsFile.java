package dev.imprint.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.job.RestoreRequest;
import dev.imprint.engine.job.SourceSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The jobs file of {@code imprint batch} (HOCON, README "imprint batch"): a list {@code jobs} of
 * restores and optional {@code defaults} they inherit. Every mistake is one line naming the file,
 * the job, its line and the key, found before any job starts.
 */
final class JobsFile {
  /** The keys a job (or {@code defaults}) may set. */
  static final List<String> KEYS =
      List.of(
          "name",
          "source",
          "targets",
          "erase",
          "verify",
          "trust",
          "grow",
          "grow-last-partition",
          "new-ids",
          "source-volume",
          "all-blocks",
          "discard",
          "buffered",
          "remount");

  /**
   * One job as the file says it, paths resolved against the file's directory.
   *
   * @param line where the job starts in the file
   */
  record Job(
      String name,
      int line,
      String source,
      List<String> targets,
      boolean verify,
      List<Path> trust,
      boolean grow,
      boolean growLast,
      boolean newIds,
      Integer sourceVolume,
      boolean allBlocks,
      boolean discard,
      boolean buffered,
      RestoreRequest.Remount remount) {}

  private final Path file;

  private JobsFile(Path file) {
    this.file = file;
  }

  /** Reads and checks every job; throws one {@link UserError} line for the first mistake. */
  static List<Job> read(Path file) {
    return new JobsFile(file).read();
  }

  private List<Job> read() {
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new UserError("jobs file " + file + " cannot be read: check the path");
    }
    Config root;
    try {
      root =
          ConfigFactory.parseFile(
                  file.toFile(),
                  ConfigParseOptions.defaults().setAllowMissing(false).setSyntax(ConfigSyntax.CONF))
              .resolve();
    } catch (ConfigException e) {
      throw new UserError(
          "syntax error in jobs file "
              + oneLine(e.getMessage())
              + ": fix the file (HOCON, see README)");
    }
    for (String key : root.root().keySet()) {
      if (!key.equals("jobs") && !key.equals("defaults")) {
        throw new UserError(
            file
                + ": line "
                + line(root.root().get(key))
                + ": unknown key "
                + quoted(key)
                + ": a jobs file has only 'jobs' (a list) and 'defaults'");
      }
    }
    Config defaults = ConfigFactory.empty();
    if (root.hasPath("defaults")) {
      ConfigValue d = root.root().get("defaults");
      if (d.valueType() != ConfigValueType.OBJECT) {
        throw new UserError(
            file + ": line " + line(d) + ": defaults must be an object ({ verify = true, ... })");
      }
      defaults = ((ConfigObject) d).toConfig();
      checkKeys(defaults, "defaults", line(d));
      if (defaults.hasPath("name")) {
        throw new UserError(
            file + ": line " + line(d) + ": defaults: name: each job has its own name");
      }
    }
    ConfigValue list = root.root().get("jobs");
    if (list == null || list.valueType() != ConfigValueType.LIST || ((ConfigList) list).isEmpty()) {
      throw new UserError(
          file
              + ": no jobs: add jobs = [ { name = ..., source = ..., targets = [...],"
              + " erase = true } ]");
    }
    List<Job> jobs = new ArrayList<>();
    Set<String> names = new HashSet<>();
    int index = 0;
    for (ConfigValue v : (ConfigList) list) {
      index++;
      if (v.valueType() != ConfigValueType.OBJECT) {
        throw new UserError(
            file
                + ": line "
                + line(v)
                + ": job "
                + index
                + " is not an object: write { source = ..., targets = [...], erase = true }");
      }
      Config own = ((ConfigObject) v).toConfig();
      String name = own.hasPath("name") ? null : "job" + index;
      Job job = job(own.withFallback(defaults), name, line(v));
      if (!names.add(job.name())) {
        throw new UserError(
            where(job.name(), job.line())
                + "name: another job has this name too:"
                + " give each job its own");
      }
      jobs.add(job);
    }
    return jobs;
  }

  private Job job(Config c, String defaultName, int line) {
    String name = defaultName;
    if (name == null) {
      name = string(c, "name", "job", line);
      if (name.isBlank()) {
        throw new UserError(where("?", line) + "name: empty: give the job a name");
      }
    }
    String at = where(name, line);
    checkKeys(c, "job " + quoted(name), line);
    if (!c.hasPath("source")) {
      throw new UserError(at + "source: missing: add source = \"IMAGE\" (a file or an URL)");
    }
    String source = string(c, "source", name, line);
    if (source.equals(SourceSpec.STDIN)) {
      throw new UserError(
          at + "source: standard input cannot feed a batch job: name an image file or URL");
    }
    if (!HttpUrls.isHttpUrl(source)) {
      Path p = resolve(source);
      if (!Files.exists(p)) {
        throw new UserError(at + "source: " + p + " does not exist: check the path");
      }
      source = p.toString();
    }
    List<String> targets = new ArrayList<>();
    if (!c.hasPath("targets")) {
      throw new UserError(at + "targets: missing: add targets = [\"/dev/sdX\", ...]");
    }
    for (String t : strings(c, "targets", name, line)) {
      targets.add(resolve(t).toString());
    }
    if (targets.isEmpty()) {
      throw new UserError(at + "targets: empty: name at least one target");
    }
    if (!c.hasPath("erase") || !bool(c, "erase", false, name, line)) {
      throw new UserError(
          at
              + "erase: "
              + (c.hasPath("erase") ? "false" : "missing")
              + ": add erase = true to agree to erasing "
              + String.join(", ", targets));
    }
    List<Path> trust = new ArrayList<>();
    if (c.hasPath("trust")) {
      for (String k : strings(c, "trust", name, line)) {
        Path p = resolve(k);
        if (!Files.isReadable(p)) {
          throw new UserError(at + "trust: " + p + " cannot be read: check the path");
        }
        trust.add(p);
      }
    }
    Integer volume = null;
    if (c.hasPath("source-volume")) {
      try {
        volume = c.getInt("source-volume");
      } catch (ConfigException e) {
        volume = -1;
      }
      if (volume < 1) {
        throw new UserError(at + "source-volume: must be a partition number (1, 2, ...)");
      }
    }
    RestoreRequest.Remount remount = RestoreRequest.Remount.NAMED_MOUNT_POINTS;
    if (c.hasPath("remount")) {
      remount =
          switch (string(c, "remount", name, line).toLowerCase(Locale.ROOT)) {
            case "named" -> RestoreRequest.Remount.NAMED_MOUNT_POINTS;
            case "all" -> RestoreRequest.Remount.ALL;
            case "none" -> RestoreRequest.Remount.NONE;
            default -> throw new UserError(at + "remount: must be named, all or none");
          };
    }
    boolean verify = bool(c, "verify", true, name, line);
    boolean newIds = bool(c, "new-ids", false, name, line);
    if (newIds && !verify) {
      throw new UserError(
          at
              + "new-ids: changes only restored and verified targets: drop verify = false or"
              + " new-ids = true");
    }
    return new Job(
        name,
        line,
        source,
        targets,
        verify,
        trust,
        bool(c, "grow", false, name, line),
        bool(c, "grow-last-partition", false, name, line),
        newIds,
        volume,
        bool(c, "all-blocks", false, name, line),
        bool(c, "discard", false, name, line),
        bool(c, "buffered", false, name, line),
        remount);
  }

  private void checkKeys(Config c, String what, int line) {
    for (String key : c.root().keySet()) {
      if (!KEYS.contains(key)) {
        throw new UserError(
            file
                + ": "
                + what
                + " (line "
                + line
                + "): unknown key "
                + quoted(key)
                + ": the keys are "
                + String.join(", ", KEYS));
      }
    }
  }

  private String string(Config c, String key, String job, int line) {
    ConfigValue v = c.getValue(key);
    if (v.valueType() != ConfigValueType.STRING) {
      throw new UserError(where(job, line) + key + ": expected a string, not " + kind(v));
    }
    return c.getString(key);
  }

  /** A list of strings, or one string as a list of one. */
  private List<String> strings(Config c, String key, String job, int line) {
    ConfigValue v = c.getValue(key);
    if (v.valueType() == ConfigValueType.STRING) {
      return List.of(c.getString(key));
    }
    if (v.valueType() == ConfigValueType.LIST) {
      List<String> out = new ArrayList<>();
      for (ConfigValue e : (ConfigList) v) {
        if (e.valueType() != ConfigValueType.STRING) {
          throw new UserError(
              where(job, line) + key + ": expected a list of strings, found " + kind(e));
        }
        out.add((String) e.unwrapped());
      }
      return out;
    }
    throw new UserError(where(job, line) + key + ": expected a list of strings, not " + kind(v));
  }

  private boolean bool(Config c, String key, boolean absent, String job, int line) {
    if (!c.hasPath(key)) {
      return absent;
    }
    ConfigValue v = c.getValue(key);
    if (v.valueType() != ConfigValueType.BOOLEAN) {
      throw new UserError(where(job, line) + key + ": expected true or false, not " + kind(v));
    }
    return c.getBoolean(key);
  }

  private Path resolve(String path) {
    Path p = Path.of(path);
    return p.isAbsolute() ? p : file.toAbsolutePath().getParent().resolve(p).normalize();
  }

  private String where(String job, int line) {
    return file + ": job " + quoted(job) + " (line " + line + "): ";
  }

  private static String kind(ConfigValue v) {
    return v.valueType() == ConfigValueType.NULL
        ? "null"
        : v.valueType().name().toLowerCase(Locale.ROOT) + " " + v.render();
  }

  private static int line(ConfigValue v) {
    return v.origin().lineNumber();
  }

  private static String quoted(String s) {
    return "'" + s + "'";
  }

  private static String oneLine(String s) {
    return s.replace('\n', ' ');
  }
}
