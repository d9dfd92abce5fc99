package dev.imprint.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The actor system of one command, started in the background as the command begins so its start-up
 * overlaps the checks; configuration is loaded explicitly from imprint's own jar.
 */
final class Pekko implements AutoCloseable {
  /** A start begun by {@link #prestart} before the command line was parsed, for one taker. */
  private static final AtomicReference<CompletableFuture<ActorSystem<Void>>> early =
      new AtomicReference<>();

  private final CompletableFuture<ActorSystem<Void>> system;

  private Pekko(CompletableFuture<ActorSystem<Void>> system) {
    this.system = system;
  }

  /**
   * Starts the system on another core before logging and picocli start on this one (about 0.4 s of
   * class loading that would otherwise stand between the checks and the first write). Only {@code
   * main} calls it: a process that runs one command and exits.
   */
  static void prestart(CompletableFuture<?> loggingReady) {
    early.compareAndSet(
        null,
        CompletableFuture.supplyAsync(
            () -> {
              Config config = config();
              // The system logs as it starts: SLF4J must be set up by then, or it replays (and
              // reports) the calls it caught; the configuration parse above overlaps that set-up.
              loggingReady.join();
              return ActorSystem.create(Behaviors.empty(), "imprint", config);
            }));
  }

  static Pekko startInBackground() {
    CompletableFuture<ActorSystem<Void>> started = early.getAndSet(null);
    return new Pekko(started != null ? started : CompletableFuture.supplyAsync(Pekko::start));
  }

  ActorSystem<Void> get() {
    return system.join();
  }

  @Override
  public void close() {
    system.thenAccept(ActorSystem::terminate);
  }

  private static ActorSystem<Void> start() {
    return ActorSystem.create(Behaviors.empty(), "imprint", config());
  }

  private static Config config() {
    ClassLoader cl = Pekko.class.getClassLoader();
    return ConfigFactory.parseResources(cl, "imprint.conf")
        .withFallback(ConfigFactory.defaultReference(cl))
        .resolve();
  }
}
