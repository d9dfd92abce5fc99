package dev.imprint.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.nio.file.Path;

/**
 * Imprint's logging, set up in code: logback's XML configurator costs about 150 ms of start-up,
 * which a restore of a small disk notices. Logs go to a file ({@code $IMPRINT_LOG}, else {@code
 * ~/.cache/imprint/imprint.log}), never to the terminal's progress display. A user's own {@code
 * -Dlogback.configurationFile=...} (conf/logback.xml is the same setup as XML) still wins.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {
  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    // Logging trouble must never reach the display (a user without a home, a full disk).
    context.getStatusManager().add(new ch.qos.logback.core.status.NopStatusListener());
    String file = System.getenv("IMPRINT_LOG");
    if (file == null || file.isEmpty()) {
      file = writableOrNull(Path.of(System.getProperty("user.home"), ".cache", "imprint"));
      if (file == null) {
        file =
            writableOrNull(
                Path.of(
                    System.getProperty("java.io.tmpdir"),
                    "imprint-" + System.getProperty("user.name")));
      }
      if (file == null) {
        context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.OFF);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
      }
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{ISO8601} %-5level [%thread] %logger{30} - %msg%n");
    encoder.start();
    FileAppender<ILoggingEvent> appender = new FileAppender<>();
    appender.setContext(context);
    appender.setName("FILE");
    appender.setFile(file);
    appender.setAppend(true);
    appender.setEncoder(encoder);
    appender.start();
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(appender);
    context.getLogger("org.apache.pekko").setLevel(Level.WARN);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** {@code dir/imprint.log} when dir exists or can be made and is writable, else null. */
  private static String writableOrNull(Path dir) {
    try {
      java.nio.file.Files.createDirectories(dir);
      return java.nio.file.Files.isWritable(dir) ? dir.resolve("imprint.log").toString() : null;
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }
}
