package dev.imprint.engine.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.RangeServer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How long Imprint waits for a server, and what it says meanwhile: a server that isn't there at the
 * start, one that trickles bytes, one that stalls after a few. Real sockets against {@link
 * RangeServer}, with short windows so the bounds are seconds; the bounds are generous (the machine
 * is shared) but far below what the old behaviour took (minutes to forever).
 */
@Timeout(120)
class HttpPatienceTest {
  private static final int MIB = 1 << 20;

  /** Notices with the time they came, in ms since the test's start. */
  private final long t0 = System.nanoTime();

  private final List<String> notices = new CopyOnWriteArrayList<>();
  private final List<Long> noticeTimes = new CopyOnWriteArrayList<>();

  private void notice(String line) {
    noticeTimes.add(elapsedMs());
    notices.add(line);
  }

  private long elapsedMs() {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  private HttpOptions options() {
    return TestFiles.options().withNotices(this::notice);
  }

  /** Trickles and stalls are judged over 1 s windows here (30 s in real use). */
  private HttpOptions fastJudging(Duration budget, Duration requestTimeout) {
    return options()
        .withTimeouts(Duration.ofSeconds(5), requestTimeout)
        .withRetryBudget(budget)
        .withMinRate(64 << 10, Duration.ofSeconds(1));
  }

  @Test
  void unreachableAtFirstContactIsToldAtOnceAndGivenUpAfterTenSeconds() throws Exception {
    int port = RangeServer.unusedPort();
    URI uri = URI.create("http://127.0.0.1:" + port + "/x.imprint");
    // The defaults as the CLI has them without --retry-for: 5 min for outages, 10 s at first.
    HttpOptions o = options().withRetryBudget(HttpOptions.DEFAULT_RETRY_BUDGET);
    HttpSourceException e =
        assertThrows(HttpSourceException.class, () -> HttpRangeReader.open(uri, o));
    long ms = elapsedMs();
    assertEquals(HttpSourceException.Kind.CANNOT_CONNECT, e.kind());
    assertEquals(
        "cannot reach 127.0.0.1:"
            + port
            + " (connection refused) for "
            + uri
            + ": check the URL and that the server is running (tried ",
        e.getMessage().substring(0, e.getMessage().indexOf("(tried ") + 7));
    assertTrue(ms >= 9_500 && ms < 30_000, "gave up after " + ms + " ms");
    assertEquals(
        List.of(
            "cannot reach 127.0.0.1:"
                + port
                + " (connection refused): check the URL and that the server is running;"
                + " retrying for 10 s"),
        notices);
    assertTrue(noticeTimes.get(0) < 3_000, "told after " + noticeTimes.get(0) + " ms");
  }

  @Test
  void streamUnreachableAtFirstContactGivesUpAfterTheFirstContactBudget() throws Exception {
    int port = RangeServer.unusedPort();
    HttpOptions o = options().withFirstContactBudget(Duration.ofSeconds(2));
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () -> HttpStream.open(URI.create("http://127.0.0.1:" + port + "/x.img"), o));
    long ms = elapsedMs();
    assertEquals(HttpSourceException.Kind.CANNOT_CONNECT, e.kind());
    assertTrue(ms >= 1_000 && ms < 20_000, "gave up after " + ms + " ms");
    assertEquals(1, notices.size(), notices.toString());
    assertTrue(notices.get(0).endsWith("retrying for 2 s"), notices.get(0));
  }

  @Test
  void anExplicitBudgetWaitsForAServerThatComesUpLate() throws Exception {
    int port = RangeServer.unusedPort();
    byte[] data = TestFiles.random(100_000, 3);
    HttpOptions o = options().withExplicitRetryBudget(Duration.ofSeconds(60));
    RangeServer[] late = new RangeServer[1];
    Thread starter =
        new Thread(
            () -> {
              try {
                Thread.sleep(1500); // the restore starts before the server does
                late[0] = new RangeServer(data, port);
              } catch (Exception ex) {
                throw new RuntimeException(ex);
              }
            });
    starter.start();
    try (HttpRangeReader r =
        HttpRangeReader.open(URI.create("http://127.0.0.1:" + port + "/x"), o)) {
      starter.join();
      ByteBuffer b = ByteBuffer.allocate(data.length);
      r.readFully(b, 0);
      assertArrayEquals(data, b.array());
    } finally {
      starter.join();
      if (late[0] != null) {
        late[0].close();
      }
    }
    assertEquals(2, notices.size(), notices.toString());
    assertTrue(notices.get(0).endsWith("retrying for 1 min"), notices.get(0));
    assertTrue(notices.get(1).startsWith("reached 127.0.0.1:" + port + " after "), notices.get(1));
  }

  @Test
  void aServerTricklingOneByteAtATimeIsCutOffWithinTheBudget() throws Exception {
    byte[] data = TestFiles.random(MIB, 4);
    try (RangeServer server = new RangeServer(data);
        HttpRangeReader r =
            HttpRangeReader.open(
                server.uri("/x"), fastJudging(Duration.ofSeconds(3), Duration.ofSeconds(10)))) {
      server.trickle(1, Duration.ofMillis(200)); // 1 MiB would take 58 hours
      long start = elapsedMs();
      HttpSourceException e =
          assertThrows(HttpSourceException.class, () -> r.readFully(ByteBuffer.allocate(MIB), 0));
      long ms = elapsedMs() - start;
      assertEquals(HttpSourceException.Kind.GAVE_UP, e.kind());
      assertTrue(ms >= 2_500 && ms < 30_000, "gave up after " + ms + " ms");
      assertTrue(
          e.getMessage().contains(" B/s for ")
              && e.getMessage().contains("below the 64 KiB/s that counts as progress"),
          e.getMessage());
      assertEquals(1, notices.size(), notices.toString());
      assertTrue(
          Pattern.matches(
              "server 127\\.0\\.0\\.1:\\d+ sends \\d+ B/s, below 64 KiB/s for 1 s: giving up in \\d s",
              notices.get(0)),
          notices.get(0));
    }
  }

  @Test
  void aServerSendingAFewBytesPerRequestThenStallingIsCutOffWithinTheBudget() throws Exception {
    byte[] data = TestFiles.random(MIB, 5);
    try (RangeServer server = new RangeServer(data);
        HttpRangeReader r =
            HttpRangeReader.open(
                server.uri("/x"), fastJudging(Duration.ofSeconds(4), Duration.ofSeconds(1)))) {
      server.stallAfter(100); // every request: 100 bytes, then silence
      long start = elapsedMs();
      HttpSourceException e =
          assertThrows(HttpSourceException.class, () -> r.readFully(ByteBuffer.allocate(MIB), 0));
      long ms = elapsedMs() - start;
      assertEquals(HttpSourceException.Kind.GAVE_UP, e.kind());
      assertTrue(ms >= 3_000 && ms < 30_000, "gave up after " + ms + " ms");
      assertTrue(server.getRanges().size() >= 2, "retried: " + server.getRanges());
      // One line for the outage, however many attempts; one when it turned out to be a trickle.
      assertEquals(
          1, notices.stream().filter(n -> n.startsWith("reading ")).count(), notices.toString());
      assertTrue(
          notices.get(0).contains("failed (no data for 1 s): retrying for up to"), notices.get(0));
      assertTrue(notices.size() <= 2, notices.toString());
    }
  }

  @Test
  void aStreamFromATricklingServerIsCutOffWithinTheBudget() throws Exception {
    byte[] data = TestFiles.random(MIB, 6);
    try (RangeServer server = new RangeServer(data)) {
      server.trickle(1, Duration.ofMillis(200));
      try (HttpStream in =
          HttpStream.open(
              server.uri("/x"), fastJudging(Duration.ofSeconds(3), Duration.ofSeconds(10)))) {
        long start = elapsedMs();
        HttpSourceException e = assertThrows(HttpSourceException.class, in::readAllBytes);
        long ms = elapsedMs() - start;
        assertEquals(HttpSourceException.Kind.GAVE_UP, e.kind());
        assertTrue(ms >= 2_500 && ms < 30_000, "gave up after " + ms + " ms");
      }
    }
  }

  @Test
  void aSlowButUsefulServerIsNotCutOff() throws Exception {
    // 16 KiB every 100 ms is about 160 KiB/s, above 64 KiB/s: 1 MiB takes about 6.5 s, more than
    // the 2 s budget, and must still arrive, because the budget counts only time without progress.
    byte[] data = TestFiles.random(MIB, 7);
    try (RangeServer server = new RangeServer(data);
        HttpRangeReader r =
            HttpRangeReader.open(
                server.uri("/x"), fastJudging(Duration.ofSeconds(2), Duration.ofSeconds(10)))) {
      server.trickle(16 << 10, Duration.ofMillis(100));
      ByteBuffer b = ByteBuffer.allocate(MIB);
      long start = elapsedMs();
      r.readFully(b, 0);
      assertTrue(elapsedMs() - start > 2_000, "the server was not slow enough to test this");
      assertArrayEquals(data, b.array());
      assertEquals(List.of("bytes=0-" + (MIB - 1)), server.getRanges());
    }
    assertEquals(List.of(), notices);
  }
}
