package dev.imprint.actors.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.job.RestoreRequest;
import dev.imprint.engine.job.SourceSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job as a front end sees it: checks, consent, cancellation, a stuck source. No root. */
class RestoreJobTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @TempDir Path dir;

  @AfterAll
  static void cleanup() {
    testKit.shutdownTestKit();
  }

  private Path raw(int mib) throws IOException {
    Path p = dir.resolve("disk.raw");
    byte[] b = new byte[mib << 20];
    new Random(7).nextBytes(b);
    Files.write(p, b);
    return p;
  }

  private record Run(ActorRef<RestoreJob.Command> job, TestProbe<RestoreEvent> events) {
    /** Events until the job ends; the last one is JobEnded. */
    List<RestoreEvent> untilEnded(Duration max) {
      List<RestoreEvent> all = new ArrayList<>();
      while (true) {
        RestoreEvent e = events.receiveMessage(max);
        all.add(e);
        if (e instanceof RestoreEvent.JobEnded) {
          return all;
        }
      }
    }

    RestoreEvent.Planned planned() {
      while (true) {
        RestoreEvent e = events.receiveMessage(Duration.ofSeconds(30));
        if (e instanceof RestoreEvent.Planned p) {
          return p;
        }
        assertFalse(e instanceof RestoreEvent.JobEnded, e.toString());
      }
    }
  }

  private Run start(RestoreRequest r) {
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    return new Run(testKit.spawn(RestoreJob.create(r, probe.getRef())), probe);
  }

  private static RestoreJob.Result result(List<RestoreEvent> events) {
    return ((RestoreEvent.JobEnded) events.get(events.size() - 1)).result();
  }

  @Test
  void aRestoreWithConsentGivenInAdvanceWritesAndVerifies() throws Exception {
    Path src = raw(8);
    Path target = dir.resolve("out.img");
    Run run = start(RestoreRequest.of(SourceSpec.of(src.toString()), List.of(target.toString())));
    List<RestoreEvent> events = run.untilEnded(Duration.ofSeconds(60));
    RestoreJob.Result r = result(events);
    assertEquals(RestoreJob.Status.SUCCEEDED, r.status(), r.message());
    assertEquals(-1, Files.mismatch(src, target));
    // Every target is announced as validating first, and the steps come in order.
    assertTrue(
        events.get(0) instanceof RestoreEvent.StateChanged s
            && s.state() == TargetState.VALIDATING);
    List<String> steps = new ArrayList<>();
    for (RestoreEvent e : events) {
      if (e instanceof RestoreEvent.Step s && s.status() == RestoreEvent.StepStatus.DONE) {
        steps.add(s.name());
      }
    }
    assertEquals(List.of("Validating target", "Validating source", "Validating sizes"), steps);
  }

  @Test
  void aFirstStepRunAheadOfTheJobGivesTheSameRestoreAndEvents() throws Exception {
    Path src = raw(8);
    Path target = dir.resolve("out.img");
    RestoreRequest r = RestoreRequest.of(SourceSpec.of(src.toString()), List.of(target.toString()));
    Precheck pre = Precheck.start(r);
    // Done before the job exists (as when the actor system is still starting): its events wait.
    pre.outcome().get(30, java.util.concurrent.TimeUnit.SECONDS);
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    testKit.spawn(RestoreJob.create(r, pre, probe.getRef()));
    List<RestoreEvent> events = new Run(null, probe).untilEnded(Duration.ofSeconds(60));
    RestoreJob.Result result = result(events);
    assertEquals(RestoreJob.Status.SUCCEEDED, result.status(), result.message());
    assertEquals(-1, Files.mismatch(src, target));
    List<String> order = new ArrayList<>();
    for (RestoreEvent e : events.subList(0, 6)) {
      order.add(
          e instanceof RestoreEvent.Step s
              ? s.name() + " " + s.status()
              : e.getClass().getSimpleName());
    }
    assertEquals(
        List.of(
            "StateChanged",
            "Validating target STARTED",
            "Validating target DONE",
            "Validating source STARTED",
            "Validating source DONE",
            "Planned"),
        order);
  }

  @Test
  void aFirstStepRunAheadThatFailsEndsTheJobWithItsReason() {
    Path target = dir.resolve("out.img");
    RestoreRequest r =
        RestoreRequest.of(
            SourceSpec.of(dir.resolve("nope.imprint").toString()), List.of(target.toString()));
    TestProbe<RestoreEvent> probe = testKit.createTestProbe();
    testKit.spawn(RestoreJob.create(r, Precheck.start(r), probe.getRef()));
    List<RestoreEvent> events = new Run(null, probe).untilEnded(Duration.ofSeconds(30));
    RestoreJob.Result result = result(events);
    assertEquals(RestoreJob.Status.REFUSED, result.status());
    assertTrue(result.message().contains("does not exist"), result.message());
    assertTrue(
        events.stream()
            .anyMatch(
                e ->
                    e instanceof RestoreEvent.Step s
                        && s.name().equals("Validating source")
                        && s.status() == RestoreEvent.StepStatus.FAILED),
        events.toString());
    assertFalse(Files.exists(target));
  }

  @Test
  void aMissingSourceIsRefusedBeforeAnythingIsWritten() {
    Path target = dir.resolve("out.img");
    Run run =
        start(
            RestoreRequest.of(
                SourceSpec.of(dir.resolve("nope.imprint").toString()), List.of(target.toString())));
    RestoreJob.Result r = result(run.untilEnded(Duration.ofSeconds(30)));
    assertEquals(RestoreJob.Status.REFUSED, r.status());
    assertTrue(r.message().contains("does not exist"), r.message());
    assertFalse(Files.exists(target));
  }

  @Test
  void consentRefusedWritesNothing() throws Exception {
    Path src = raw(4);
    Path target = dir.resolve("keep.img");
    byte[] before = new byte[4096];
    new Random(1).nextBytes(before);
    Files.write(target, before);
    Run run =
        start(
            RestoreRequest.of(SourceSpec.of(src.toString()), List.of(target.toString()))
                .withConsented(false));
    RestoreEvent.Planned p = run.planned();
    assertTrue(p.consentNeeded());
    assertEquals(target.toString(), p.targets().get(0).target());
    run.job().tell(new RestoreJob.Consent(false, null));
    RestoreJob.Result r = result(run.untilEnded(Duration.ofSeconds(30)));
    assertEquals(RestoreJob.Status.REFUSED, r.status());
    assertTrue(r.message().contains("nothing was written"), r.message());
    assertEquals(-1, java.util.Arrays.mismatch(before, Files.readAllBytes(target)));
  }

  @Test
  void consentGivenWhenAskedRestores() throws Exception {
    Path src = raw(4);
    Path target = dir.resolve("out.img");
    Run run =
        start(
            RestoreRequest.of(SourceSpec.of(src.toString()), List.of(target.toString()))
                .withConsented(false));
    run.planned();
    run.job().tell(new RestoreJob.Consent(true, null));
    RestoreJob.Result r = result(run.untilEnded(Duration.ofSeconds(60)));
    assertEquals(RestoreJob.Status.SUCCEEDED, r.status(), r.message());
    assertEquals(-1, Files.mismatch(src, target));
  }

  @Test
  void aPersonTakingLongerThanTheStallLimitToAnswerIsNoStall() throws Exception {
    Path src = raw(4);
    Path target = dir.resolve("slow-answer.img");
    Run run =
        start(
            RestoreRequest.of(SourceSpec.of(src.toString()), List.of(target.toString()))
                .withConsented(false)
                .withStallLimit(Duration.ofSeconds(1)));
    run.planned();
    run.events().expectNoMessage(Duration.ofSeconds(3));
    run.job().tell(new RestoreJob.Consent(true, null));
    RestoreJob.Result r = result(run.untilEnded(Duration.ofSeconds(60)));
    assertEquals(RestoreJob.Status.SUCCEEDED, r.status(), r.message());
  }

  @Test
  void cancelWhileWaitingForConsentTouchesNothing() throws Exception {
    Path src = raw(4);
    Path target = dir.resolve("never.img");
    Run run =
        start(
            RestoreRequest.of(SourceSpec.of(src.toString()), List.of(target.toString()))
                .withConsented(false));
    run.planned();
    run.job().tell(new RestoreJob.Cancel("interrupted"));
    RestoreJob.Result r = result(run.untilEnded(Duration.ofSeconds(30)));
    assertEquals(RestoreJob.Status.CANCELLED, r.status());
    assertFalse(Files.exists(target));
  }

  @Test
  void aStuckSourceEndsTheJobAsAnInternalErrorWithTheTargetNotValid() throws Exception {
    // A pipe that delivers 3 MiB of an 8 MiB disk and then nothing, without closing.
    Pipe pipe = Pipe.open();
    byte[] some = new byte[3 << 20];
    new Random(2).nextBytes(some);
    Thread writer =
        new Thread(
            () -> {
              try {
                Channels.newOutputStream(pipe.sink()).write(some);
              } catch (IOException e) {
                // closed by the job
              }
            });
    writer.setDaemon(true);
    writer.start();
    InputStream in = Channels.newInputStream(pipe.source());
    Path target = dir.resolve("stuck.img");
    SourceSpec source = new SourceSpec(SourceSpec.STDIN, null, null, null, false, () -> in, null);
    RestoreRequest r =
        RestoreRequest.of(source, List.of(target.toString())).withStallLimit(Duration.ofSeconds(2));
    Run run = start(r);
    long t0 = System.nanoTime();
    RestoreJob.Result result = result(run.untilEnded(Duration.ofSeconds(30)));
    assertEquals(RestoreJob.Status.INTERNAL_ERROR, result.status(), result.message());
    assertTrue(result.message().contains("stuck"), result.message());
    assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(20).toNanos());
    byte[] head = new byte[1 << 20];
    try (var c = java.nio.channels.FileChannel.open(target)) {
      c.read(java.nio.ByteBuffer.wrap(head), 0);
    }
    for (byte b : head) {
      assertEquals(0, b, "the first MiB must stay wiped");
    }
  }
}
