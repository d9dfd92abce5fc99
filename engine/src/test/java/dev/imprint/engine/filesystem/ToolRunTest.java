package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The tools --grow and --new-ids run are bounded in time and never wait on imprint's input. */
class ToolRunTest {
  private static final int[] OK = {0};

  @Test
  void aToolThatHangsIsStoppedAtItsTimeout() {
    IOException e =
        assertTimeoutPreemptively(
            Duration.ofSeconds(30),
            () ->
                assertThrows(
                    IOException.class,
                    () ->
                        Grow.runAllowing(
                            Duration.ofSeconds(1), OK, "sh", "-c", "echo started; sleep 600")));
    assertTrue(e.getMessage().contains("did not finish"), e.getMessage());
  }

  @Test
  void aToolThatAsksAQuestionReadsEndOfInput() {
    String out =
        assertTimeoutPreemptively(
            Duration.ofSeconds(30),
            () ->
                Grow.runAllowing(
                    Duration.ofSeconds(20), OK, "sh", "-c", "read answer || echo no-input"));
    assertEquals("no-input", out.strip());
  }

  @Test
  void outputAndExitCodeStillReported() {
    IOException e =
        assertThrows(
            IOException.class,
            () -> Grow.runAllowing(Duration.ofSeconds(20), OK, "sh", "-c", "echo why >&2; exit 3"));
    assertTrue(e.getMessage().contains("exit 3") && e.getMessage().endsWith("why"), e.getMessage());
  }
}
