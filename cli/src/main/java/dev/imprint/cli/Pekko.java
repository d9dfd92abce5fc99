package dev.imprint.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** Starts the actor system with configuration loaded explicitly from imprint's own jar. */
final class Pekko {
  private Pekko() {}

  static ActorSystem<Void> start() {
    ClassLoader cl = Pekko.class.getClassLoader();
    Config config =
        ConfigFactory.parseResources(cl, "imprint.conf")
            .withFallback(ConfigFactory.defaultReference(cl))
            .resolve();
    return ActorSystem.create(Behaviors.empty(), "imprint", config);
  }
}
