package dev.imprint.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The actor system of one command, started in the background as the command begins so its start-up
 * overlaps the checks; configuration is loaded explicitly from imprint's own jar.
 */
final class Pekko implements AutoCloseable {
  private final CompletableFuture<ActorSystem<Void>> system =
      CompletableFuture.supplyAsync(Pekko::start);

  private Pekko() {}

  static Pekko startInBackground() {
    return new Pekko();
  }

  ActorSystem<Void> get() {
    return system.join();
  }

  @Override
  public void close() {
    system.thenAccept(ActorSystem::terminate);
  }

  private static ActorSystem<Void> start() {
    ClassLoader cl = Pekko.class.getClassLoader();
    Config config =
        ConfigFactory.parseResources(cl, "imprint.conf")
            .withFallback(ConfigFactory.defaultReference(cl))
            .resolve();
    return ActorSystem.create(Behaviors.empty(), "imprint", config);
  }
}
