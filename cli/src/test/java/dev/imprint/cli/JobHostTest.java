package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/** A front end waiting on a job always hears the end, however the job went. */
class JobHostTest {
  @Test
  void aFatalErrorThatStopsTheSystemStillEndsTheJob() throws Exception {
    // Before the fix the system began to stop, never finished (the actor that hit the error is
    // stuck), and a front end waited for the job's end forever.
    assertEquals(
        "working backstop",
        events(
            out ->
                Behaviors.receive(String.class)
                    .onMessage(
                        String.class,
                        m -> {
                          out.tell("working");
                          // What running out of heap looks like to the actor that hit it.
                          throw new OutOfMemoryError("Java heap space (from the test)");
                        })
                    .build()));
  }

  @Test
  void aJobThatStopsSaysTheBackstopOnce() throws Exception {
    assertEquals("backstop", events(out -> Behaviors.stopped()));
  }

  /**
   * Runs {@code job} (told "go" once started) in its own actor system, then stops the system: the
   * events it gave, space-separated.
   */
  private static String events(Function<ActorRef<String>, Behavior<String>> job) throws Exception {
    // As Imprint's (a fatal error stops the system, not the JVM), with daemon threads: a system
    // that never finishes stopping must not hold the test JVM's exit.
    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.empty(),
            "imprint",
            ConfigFactory.parseString(
                    "pekko.daemonic = on\n"
                        + "pekko.jvm-exit-on-fatal-error = off\n"
                        + "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off\n"
                        + "pekko.stdout-loglevel = OFF")
                .withFallback(ConfigFactory.load()));
    LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
    StringBuilder seen = new StringBuilder();
    try {
      JobHost.start(system, "test", job, String.class, events::add, () -> "backstop")
          .thenAccept(j -> j.tell("go"));
      for (String e = ""; !e.equals("backstop"); ) {
        e = events.poll(30, TimeUnit.SECONDS);
        if (e == null) {
          throw new AssertionError("no backstop in 30 s after: " + seen);
        }
        seen.append(seen.length() > 0 ? " " : "").append(e);
      }
    } finally {
      system.terminate();
    }
    // The system's end afterwards adds nothing.
    assertNull(events.poll(200, TimeUnit.MILLISECONDS), "the backstop comes once");
    return seen.toString();
  }
}
