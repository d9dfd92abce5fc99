package dev.imprint.engine.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.RangeServer;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class HttpRangeReaderTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;
  private NginxServer nginx;
  private byte[] data;

  @BeforeEach
  void start() throws Exception {
    Root.assume(NginxServer.available(), "nginx is not installed (apt-get install nginx-light)");
    nginx = new NginxServer(dir, "2m");
    data = TestFiles.write(nginx.www().resolve("disk.bin"), 24 * MIB + 12345, 1);
    nginx.start();
  }

  @AfterEach
  void stop() throws Exception {
    if (nginx != null) {
      nginx.close();
    }
  }

  private static byte[] read(HttpRangeReader r, long pos, int n, boolean direct)
      throws IOException {
    ByteBuffer b = direct ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
    r.readFully(b, pos);
    assertEquals(n, b.position());
    b.flip();
    byte[] out = new byte[n];
    b.get(out);
    return out;
  }

  @Test
  void parallelRandomRangesAreByteExact() throws Exception {
    try (HttpRangeReader r =
        HttpRangeReader.open(nginx.uri("/disk.bin"), TestFiles.options().withConnections(8))) {
      assertEquals(data.length, r.size());
      assertTrue(r.etag().isPresent(), "nginx gives an ETag");
      assertEquals(nginx.uri("/disk.bin").toString(), r.description());
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<Integer>> done = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          long seed = t;
          done.add(
              pool.submit(
                  () -> {
                    Random rnd = new Random(seed);
                    int checked = 0;
                    for (int i = 0; i < 40; i++) {
                      int n = i == 0 ? 1 : 1 + rnd.nextInt(i % 4 == 0 ? 2 * MIB : 64 << 10);
                      long pos = i == 1 ? data.length - n : (long) rnd.nextInt(data.length - n);
                      byte[] got = read(r, pos, n, i % 2 == 0);
                      assertArrayEquals(
                          Arrays.copyOfRange(data, (int) pos, (int) pos + n),
                          got,
                          "bytes " + pos + "+" + n);
                      checked++;
                    }
                    return checked;
                  }));
        }
        for (Future<Integer> f : done) {
          assertEquals(40, f.get());
        }
      } finally {
        pool.shutdownNow();
      }
      IOException past =
          assertThrows(IOException.class, () -> read(r, data.length - 10, 20, false));
      assertTrue(past.getMessage().contains("truncated"), past.getMessage());
    }
  }

  @Test
  void notFound() {
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () -> HttpRangeReader.open(nginx.uri("/missing.imprint"), TestFiles.options()));
    assertEquals(HttpSourceException.Kind.NOT_FOUND, e.kind());
    assertEquals(
        nginx.uri("/missing.imprint") + " not found (HTTP 404): check the address", e.getMessage());
  }

  @Test
  void forbidden() {
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () -> HttpRangeReader.open(nginx.uri("/forbidden/x"), TestFiles.options()));
    assertEquals(HttpSourceException.Kind.ACCESS_DENIED, e.kind());
    assertTrue(
        e.getMessage()
            .endsWith("(HTTP 403): check credentials (--header or user:pass@ in the URL)"),
        e.getMessage());
  }

  @Test
  void credentialsInTheUrlAreSentButNeverShown() throws Exception {
    URI withUser = URI.create("http://alice:s3cret@127.0.0.1:" + nginx.port() + "/missing");
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class, () -> HttpRangeReader.open(withUser, TestFiles.options()));
    assertTrue(
        !e.getMessage().contains("s3cret") && !e.getMessage().contains("alice"), e.getMessage());
    try (HttpRangeReader r =
        HttpRangeReader.open(
            URI.create("http://alice:s3cret@127.0.0.1:" + nginx.port() + "/disk.bin"),
            TestFiles.options())) {
      assertEquals("http://127.0.0.1:" + nginx.port() + "/disk.bin", r.description());
    }
  }

  @Test
  void unknownHost() {
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () ->
                HttpRangeReader.open(
                    URI.create("http://no-such-host.invalid/x"), TestFiles.options()));
    assertEquals(HttpSourceException.Kind.UNKNOWN_HOST, e.kind());
    assertTrue(
        e.getMessage()
            .startsWith("cannot resolve host no-such-host.invalid: check the address or DNS"),
        e.getMessage());
  }

  @Test
  void connectionRefusedIsRetriedThenReported() throws Exception {
    nginx.stop();
    long t0 = System.nanoTime();
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () ->
                HttpRangeReader.open(
                    nginx.uri("/disk.bin"),
                    TestFiles.options().withRetryBudget(Duration.ofSeconds(2))));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(HttpSourceException.Kind.CANNOT_CONNECT, e.kind());
    assertTrue(
        e.getMessage()
            .startsWith("cannot reach 127.0.0.1:" + nginx.port() + " (connection refused) for "),
        e.getMessage());
    assertTrue(ms >= 1000 && ms < 10_000, "retried for " + ms + " ms");
  }

  @Test
  void serverKilledAndRestartedMidReadStillGivesTheRightBytes() throws Exception {
    try (HttpRangeReader r =
        HttpRangeReader.open(nginx.uri("/slow/disk.bin"), TestFiles.options())) {
      AtomicReference<Throwable> restartFailure = new AtomicReference<>();
      Thread restarter =
          new Thread(
              () -> {
                try {
                  // Kill once the body flows (1 MiB of 16 at 2 MB/s): bytes nginx wrote
                  // before the kill still reach the reader, so it resumes mid-range.
                  long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                  while (nginx.bytesWritten() < MIB && System.nanoTime() < deadline) {
                    Thread.sleep(10); // polling interval
                  }
                  nginx.stop();
                  Thread.sleep(300); // down for a moment: reconnects are refused and retried
                  nginx.start();
                } catch (Throwable t) {
                  restartFailure.set(t);
                }
              });
      restarter.start();
      long pos = 3 * MIB + 7;
      byte[] got = read(r, pos, 16 * MIB, true);
      restarter.join();
      assertEquals(null, restartFailure.get());
      assertArrayEquals(Arrays.copyOfRange(data, (int) pos, (int) pos + 16 * MIB), got);
      // The kill landed mid-body: the read resumed with a range that starts inside it.
      List<Long> starts = nginx.rangeStarts();
      assertTrue(
          starts.stream().anyMatch(s -> s > pos && s < pos + 16 * MIB),
          "no resumed range in " + nginx.accessLog());
    }
  }

  @Test
  void connectionCutAtAKnownByteResumesThereByteExact() throws Exception {
    byte[] file = TestFiles.random(4 * MIB + 123, 11);
    List<String> notices = new java.util.concurrent.CopyOnWriteArrayList<>();
    long pos = 12345;
    int n = 3 * MIB;
    long cut = pos + MIB + 77;
    try (RangeServer server = new RangeServer(file);
        HttpRangeReader r =
            HttpRangeReader.open(
                server.uri("/disk.bin"), TestFiles.options().withNotices(notices::add))) {
      server.cutOnceAt(cut, null);
      for (boolean direct : new boolean[] {true, false}) {
        byte[] got = read(r, pos, n, direct);
        assertArrayEquals(Arrays.copyOfRange(file, (int) pos, (int) pos + n), got);
      }
      long last = pos + n - 1;
      assertEquals("HEAD -", server.requests().get(0));
      // Broken exactly at the cut, resumed exactly there, then the second read in one piece.
      assertEquals(
          List.of(
              "bytes=" + pos + "-" + last,
              "bytes=" + cut + "-" + last,
              "bytes=" + pos + "-" + last),
          server.getRanges());
      assertEquals(2L * n, server.bodyBytes(), "no byte sent twice");
      assertEquals(
          2, server.connections(), "HEAD then the cut GET (kept alive), the resumed one (kept)");
      assertEquals(2, notices.size(), notices.toString());
      assertEquals(
          "reading "
              + server.uri("/disk.bin")
              + " failed (the connection closed after "
              + (cut - pos)
              + " of "
              + n
              + " bytes): retrying for up to 30 s",
          notices.get(0));
      assertTrue(
          notices.get(1).startsWith("reconnected to 127.0.0.1:" + server.port() + " after "),
          notices.get(1));
    }
  }

  @Test
  void fileReplacedAtTheCutIsReportedOnResume() throws Exception {
    byte[] file = TestFiles.random(2 * MIB, 12);
    try (RangeServer server = new RangeServer(file);
        HttpRangeReader r = HttpRangeReader.open(server.uri("/disk.bin"), TestFiles.options())) {
      server.cutOnceAt(MIB, () -> server.replace(TestFiles.random(2 * MIB, 13)));
      ImageChangedException e =
          assertThrows(ImageChangedException.class, () -> read(r, 0, 2 * MIB, false));
      assertEquals(
          List.of("bytes=0-" + (2 * MIB - 1), "bytes=" + MIB + "-" + (2 * MIB - 1)),
          server.getRanges());
      assertTrue(e.getMessage().contains("changed while it was being restored"), e.getMessage());
    }
  }

  @Test
  void fileReplacedBetweenReadsIsReported() throws Exception {
    try (HttpRangeReader r = HttpRangeReader.open(nginx.uri("/disk.bin"), TestFiles.options())) {
      read(r, 0, 4096, false);
      String before = r.etag().orElseThrow();
      TestFiles.replace(nginx.www().resolve("disk.bin"), 2);
      ImageChangedException e =
          assertThrows(ImageChangedException.class, () -> read(r, MIB, 4096, false));
      assertTrue(
          e.getMessage()
              .startsWith(
                  "the image at "
                      + nginx.uri("/disk.bin")
                      + " changed while it was being restored (ETag "
                      + before
                      + " -> \""),
          e.getMessage());
      assertTrue(
          e.getMessage().endsWith("): stopped so two images never mix on one disk; start again"),
          e.getMessage());
    }
  }

  @Test
  void fileReplacedMidTransferIsReportedOnResume() throws Exception {
    try (HttpRangeReader r =
        HttpRangeReader.open(nginx.uri("/slow/disk.bin"), TestFiles.options())) {
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread replacer =
          new Thread(
              () -> {
                try {
                  Thread.sleep(500);
                  TestFiles.replace(nginx.www().resolve("disk.bin"), 3);
                  nginx.restart(); // the read resumes against the new file
                } catch (Throwable t) {
                  failure.set(t);
                }
              });
      replacer.start();
      ImageChangedException e =
          assertThrows(ImageChangedException.class, () -> read(r, 0, 16 * MIB, false));
      replacer.join();
      assertEquals(null, failure.get());
      assertTrue(e.getMessage().contains("changed while it was being restored"), e.getMessage());
    }
  }

  @Test
  void serverIgnoringRangesIsReported() throws Exception {
    try (HttpRangeReader r =
        HttpRangeReader.open(nginx.uri("/noranges/disk.bin"), TestFiles.options())) {
      HttpSourceException e =
          assertThrows(HttpSourceException.class, () -> read(r, MIB, 100, false));
      assertEquals(HttpSourceException.Kind.NO_RANGES, e.kind());
      assertTrue(
          e.getMessage()
              .startsWith("server 127.0.0.1:" + nginx.port() + " does not support range requests"),
          e.getMessage());
      assertTrue(
          e.getMessage().endsWith("Imprint images need them — or restore a raw image over HTTP"),
          e.getMessage());
    }
  }

  @Test
  void persistent5xxGivesUpAfterTheBudget() {
    long t0 = System.nanoTime();
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () ->
                HttpRangeReader.open(
                    nginx.uri("/unavailable/disk.bin"),
                    TestFiles.options().withRetryBudget(Duration.ofSeconds(2))));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(HttpSourceException.Kind.GAVE_UP, e.kind());
    assertTrue(
        e.getMessage()
            .startsWith("gave up reading " + nginx.uri("/unavailable/disk.bin") + " after "),
        e.getMessage());
    assertTrue(
        e.getMessage().endsWith("last error: HTTP 503 from 127.0.0.1:" + nginx.port()),
        e.getMessage());
    assertTrue(ms >= 1000 && ms < 10_000, "retried for " + ms + " ms");
  }
}
