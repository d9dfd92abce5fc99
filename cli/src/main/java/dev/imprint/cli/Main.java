package dev.imprint.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletionException;
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
    subcommands = {
      CreateCommand.class,
      InfoCommand.class,
      ImagescanCommand.class,
      RestoreCommand.class,
      VerifyCommand.class,
      KeygenCommand.class,
      SignCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Exit codes: 0 ok, 1 some targets failed, 2 bad input (nothing written),",
      "3 verification failed, 4 image damaged, 70 internal error, 130 interrupted."
    })
public final class Main implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  /** asr's options that imply the restore verb when no verb is given. */
  private static final Set<String> ASR_RESTORE_OPTIONS =
      Set.of("-source", "--source", "-target", "--target", "-s", "-t");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "no command given: try 'imprint --help'");
  }

  public static void main(String[] args) {
    int code = run(args, System.in, System.out, System.err);
    System.exit(code);
  }

  /** Runs one command line; the streams let tests run imprint in-process. */
  public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
    Terminal.set(in, out, err);
    CommandLine cl = commandLine(out, err);
    return cl.execute(withImpliedVerb(args));
  }

  static CommandLine commandLine(PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(new Main());
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
          if (t instanceof IOException) {
            LOG.info("refused: {}", t.getMessage(), t);
            err.println("imprint: " + t.getMessage());
            return ExitCode.BAD_INPUT;
          }
          LOG.error("internal error", t);
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
