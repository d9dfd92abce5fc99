package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.apache.pekko.actor.BootstrapSetup;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The resolved configuration the build writes into the jar says what the parsed one says. */
class PekkoConfigTest {
  @TempDir Path dir;

  private static Config parsed(ClassLoader cl) {
    return ConfigFactory.parseResources(cl, "imprint.conf")
        .withFallback(ConfigFactory.defaultReference(cl))
        .resolve()
        .getConfig("pekko");
  }

  @Test
  void bakedConfigurationEqualsTheParsedOne() throws Exception {
    ClassLoader app = getClass().getClassLoader();
    // Run from target/classes, the jar's baked file is absent: the parsed path is taken.
    assertNull(app.getResource(Pekko.BAKED));
    Path file = dir.resolve(Pekko.BAKED);
    Files.writeString(file, Pekko.resolved(app));
    URL url = file.toUri().toURL();
    ClassLoader baked = new Pekko.BakedReference(app, url);

    assertEquals(List.of(url), Collections.list(baked.getResources("reference.conf")));
    Config served = ConfigFactory.defaultReference(baked).getConfig("pekko");
    // imprint.conf's settings are in it (the jar's reference.conf alone has Pekko's own logger).
    assertEquals(
        List.of("org.apache.pekko.event.slf4j.Slf4jLogger"), served.getStringList("loggers"));
    assertEquals(parsed(app), served);
  }

  @Test
  void systemStartsFromTheBakedConfiguration() throws Exception {
    ClassLoader app = getClass().getClassLoader();
    Path file = dir.resolve(Pekko.BAKED);
    Files.writeString(file, Pekko.resolved(app));
    ClassLoader withBaked =
        new ClassLoader(app) {
          @Override
          public URL getResource(String name) {
            if (Pekko.BAKED.equals(name)) {
              try {
                return file.toUri().toURL();
              } catch (java.net.MalformedURLException e) {
                throw new IllegalStateException(e);
              }
            }
            return super.getResource(name);
          }
        };
    BootstrapSetup setup = Pekko.setup(withBaked);
    assertTrue(setup.classLoader().get() instanceof Pekko.BakedReference);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "test", setup);
    try {
      assertEquals(
          "org.apache.pekko.event.slf4j.Slf4jLoggingFilter",
          system.settings().config().getString("pekko.logging-filter"));
      assertEquals(
          List.of("org.apache.pekko.stream.SystemMaterializer$"),
          system.settings().config().getStringList("pekko.library-extensions"));
    } finally {
      system.terminate();
      system
          .getWhenTerminated()
          .toCompletableFuture()
          .get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
