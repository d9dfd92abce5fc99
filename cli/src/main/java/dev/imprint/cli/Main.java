package dev.imprint.cli;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.device.LibC;
import dev.imprint.engine.hash.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code imprint} command: parses, runs one subcommand, maps failures to exit codes. */
@Command(
    name = "imprint",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
      "Restore disk images to disks: one disk, every disk on a cloning station, verified.",
      "",
      "asr users: 'imprint -source IMG -target DEV -erase' works as 'imprint restore ...'."
    },
    footer = {
      "",
      "Exit codes: 0 ok, 1 some targets failed, 2 bad input (nothing written),",
      "3 verification failed, 4 image damaged, 70 internal error, 130 interrupted."
    })
public final class Main implements Runnable {

  /** asr's options that imply the restore verb when no verb is given. */
  private static final Set<String> ASR_RESTORE_OPTIONS =
      Set.of("-source", "--source", "-target", "--target", "-s", "-t");

  /**
   * The subcommands, in help order. Building picocli's model of all of them costs ~0.15 s of
   * reflection at start-up, so a command line that names one gets only that one; anything else
   * (help, a typo, no verb) gets them all.
   */
  private static final Map<String, Supplier<Object>> VERBS = new LinkedHashMap<>();

  static {
    VERBS.put("create", CreateCommand::new);
    VERBS.put("info", InfoCommand::new);
    VERBS.put("imagescan", ImagescanCommand::new);
    VERBS.put("restore", RestoreCommand::new);
    VERBS.put("verify", VerifyCommand::new);
    VERBS.put("batch", BatchCommand::new);
    VERBS.put("keygen", KeygenCommand::new);
    VERBS.put("sign", SignCommand::new);
    VERBS.put("station", StationCommand::new);
    VERBS.put("audit", AuditCommand::new);
    VERBS.put("server", ServerCommand::new);
    VERBS.put("browse", BrowseCommand::new);
    VERBS.put("help", CommandLine.HelpCommand::new);
  }

  /** The commands that run Pekko streams: their actor system starts before parsing. */
  private static final Set<String> VERBS_WITH_ACTORS =
      Set.of("restore", "create", "verify", "batch", "station", "server");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "no command given: try 'imprint --help'");
  }

  public static void main(String[] args) {
    // JNA fills in its library search path by running `ldconfig -p` in a child process (~40 ms)
    // unless told the path; Imprint loads its libraries by soname, which dlopen finds itself.
    if (System.getProperty("jna.platform.library.path") == null) {
      System.setProperty("jna.platform.library.path", "/usr/lib64:/lib64:/usr/lib:/lib");
    }
    String[] argv = withImpliedVerb(args);
    if (argv.length > 0 && VERBS_WITH_ACTORS.contains(argv[0])) {
      CompletableFuture<Void> loggingReady = new CompletableFuture<>();
      Pekko.prestart(loggingReady);
      try {
        LoggerFactory.getILoggerFactory();
      } finally {
        loggingReady.complete(null);
      }
      loadNativeLibraries();
      // A multicast client's handshake is its first step: its HTTP client is built meanwhile.
      if (java.util.Arrays.stream(argv)
          .anyMatch(dev.imprint.engine.control.ControlChannel::isServerUrl)) {
        dev.imprint.engine.control.ControlClient.prepare();
      }
    }
    installSignalHandlers();
    int code = run(args, System.in, System.out, System.err);
    System.exit(code);
  }

  /**
   * Loads the native libraries every job uses (JNA with libc and libcrypto, lz4, zstd) on this
   * thread while the actor system starts on the other: otherwise the job's first steps load them
   * after the system is up. A library that fails here fails again, and is reported, in the job.
   */
  private static void loadNativeLibraries() {
    try {
      Sha256.isNative();
      Objects.requireNonNull(LibC.INSTANCE);
      Codec.values();
      com.github.luben.zstd.util.Native.load();
    } catch (RuntimeException | LinkageError e) {
      log().debug("native libraries not loaded ahead of the job", e);
    }
  }

  /** What SIGINT or SIGTERM does while a job runs: cancel it cleanly (null: exit at once). */
  private static volatile Runnable onInterrupt;

  private static volatile boolean interrupted;

  static void onInterrupt(Runnable cancel) {
    onInterrupt = cancel;
  }

  /** What a second SIGINT or SIGTERM does (null: exit at once); the station aborts its jobs. */
  private static volatile Runnable onSecondInterrupt;

  private static volatile boolean secondInterrupted;

  static void onSecondInterrupt(Runnable abort) {
    onSecondInterrupt = abort;
  }

  /**
   * The first SIGINT or SIGTERM cancels the running job, which leaves its targets not looking valid
   * and exits 130; a second one, or one with no job running, exits at once.
   */
  private static void installSignalHandlers() {
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        sun.misc.Signal.handle(
            new sun.misc.Signal(name),
            sig -> {
              Runnable r = onInterrupt;
              Runnable again = onSecondInterrupt;
              if (r != null && interrupted && again != null && !secondInterrupted) {
                secondInterrupted = true;
                again.run();
                return;
              }
              if (r == null || interrupted) {
                Runtime.getRuntime().halt(ExitCode.INTERRUPTED);
              }
              interrupted = true;
              r.run();
            });
      } catch (IllegalArgumentException e) {
        // This JVM reserves the signal (e.g. -Xrs): the default handling stays.
      }
    }
  }

  /** Runs one command line; the streams let tests run imprint in-process. */
  public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
    Terminal.set(in, out, err);
    String[] argv = withImpliedVerb(args);
    CommandLine cl = commandLine(argv.length > 0 ? argv[0] : null, out, err);
    return cl.execute(argv);
  }

  /** The command line for {@code verb} (null: every subcommand); settings after the subcommands. */
  static CommandLine commandLine(String verb, PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(new Main());
    Supplier<Object> only = "help".equals(verb) ? null : VERBS.get(verb);
    if (only != null) {
      cl.addSubcommand(only.get());
    } else {
      VERBS.values().forEach(v -> cl.addSubcommand(v.get()));
    }
    // With clustering on, "-sourc x" would parse as "-s ourc x": a typo must be an error.
    cl.setPosixClusteredShortOptionsAllowed(false);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setParameterExceptionHandler(
        (ex, argv) -> {
          err.println("imprint: " + ex.getMessage());
          CommandLine c = ex.getCommandLine();
          err.println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for more.");
          return ExitCode.BAD_INPUT;
        });
    cl.setExecutionExceptionHandler(
        (ex, c, parsed) -> {
          Throwable t = ex;
          while ((t instanceof CompletionException
                  || t instanceof java.util.concurrent.ExecutionException)
              && t.getCause() != null) {
            t = t.getCause();
          }
          if (t instanceof UserError u) {
            err.println("imprint: " + u.getMessage());
            return u.exitCode();
          }
          if (t instanceof dev.imprint.engine.job.Refusal r) {
            err.println("imprint: " + r.getMessage());
            return r.problem() == dev.imprint.engine.job.Refusal.Problem.DAMAGED
                ? ExitCode.DAMAGED
                : ExitCode.BAD_INPUT;
          }
          if (t instanceof dev.imprint.engine.image.ImageDamagedException) {
            // A source found damaged while read (a foreign container's cluster, a cut stream).
            log().info("damaged: {}", t.getMessage(), t);
            err.println("imprint: " + t.getMessage());
            return ExitCode.DAMAGED;
          }
          if (t instanceof IOException) {
            log().info("refused: {}", t.getMessage(), t);
            err.println("imprint: " + t.getMessage());
            return ExitCode.BAD_INPUT;
          }
          log().error("internal error", t);
          err.println(
              "imprint: internal error: "
                  + t
                  + " (details in "
                  + System.getProperty("user.home")
                  + "/.cache/imprint/imprint.log; please report it)");
          return ExitCode.INTERNAL;
        });
    return cl;
  }

  private static String[] withImpliedVerb(String[] args) {
    if (args.length > 0 && args[0].equals("-server")) {
      // asr's spelling: -server CONFIG starts a multicast server.
      List<String> l = new ArrayList<>(List.of("server", "--config"));
      l.addAll(List.of(args).subList(1, args.length));
      return l.toArray(String[]::new);
    }
    if (args.length > 0 && ASR_RESTORE_OPTIONS.contains(args[0])) {
      List<String> l = new ArrayList<>();
      l.add("restore");
      l.addAll(List.of(args));
      return l.toArray(String[]::new);
    }
    return args;
  }

  /** {@code imprint --version}: the version baked into the jar at build time. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"imprint " + version(), "Java " + System.getProperty("java.version")};
    }
  }

  /** Looked up when needed: logging's set-up should not delay the actor system's early start. */
  private static Logger log() {
    return LoggerFactory.getLogger(Main.class);
  }

  static String version() {
    Properties p = new Properties();
    try (var s = Main.class.getResourceAsStream("/imprint-version.properties")) {
      if (s != null) {
        p.load(s);
      }
    } catch (IOException e) {
      return "unknown";
    }
    return p.getProperty("version", "unknown");
  }
}
