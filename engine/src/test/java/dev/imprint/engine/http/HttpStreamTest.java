package dev.imprint.engine.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.RangeServer;
import dev.imprint.engine.testing.Root;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class HttpStreamTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;
  private NginxServer nginx;
  private byte[] data;
  private final List<String> warnings = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    Root.assume(NginxServer.available(), "nginx is not installed (apt-get install nginx-light)");
    nginx = new NginxServer(dir, "2m");
    data = TestFiles.write(nginx.www().resolve("disk.img"), 8 * MIB + 999, 7);
    nginx.start();
  }

  @AfterEach
  void stop() {
    if (nginx != null) {
      nginx.close();
    }
  }

  /**
   * Kills nginx once 1 MiB of a body has gone out (those bytes still reach the reader, so it
   * resumes mid-file), keeps it down 0.3 s, starts it again.
   */
  private Thread restartSoon(AtomicReference<Throwable> failure, boolean replace) {
    Thread t =
        new Thread(
            () -> {
              try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (nginx.bytesWritten() < (1 << 20) && System.nanoTime() < deadline) {
                  Thread.sleep(10); // polling interval
                }
                nginx.stop();
                if (replace) {
                  TestFiles.replace(nginx.www().resolve("disk.img"), 8);
                }
                Thread.sleep(300);
                nginx.start();
              } catch (Throwable e) {
                failure.set(e);
              }
            });
    t.start();
    return t;
  }

  @Test
  void wholeFile() throws Exception {
    try (HttpStream in =
        HttpStream.open(nginx.uri("/disk.img"), TestFiles.options(), warnings::add)) {
      assertEquals(data.length, in.length().orElseThrow());
      assertArrayEquals(data, in.readAllBytes());
      assertEquals(data.length, in.position());
      // Read again at the end: still the end, not a request for bytes past it (which a server
      // answers 416, once taken for a changed image).
      assertEquals(-1, in.read());
      assertEquals(-1, in.read(new byte[10], 0, 10));
    }
    assertEquals(List.of(), warnings);
  }

  @Test
  void serverKilledAndRestartedResumesWithRanges() throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (HttpStream in =
        HttpStream.open(nginx.uri("/slow/disk.img"), TestFiles.options(), warnings::add)) {
      Thread t = restartSoon(failure, false);
      byte[] got = in.readAllBytes();
      t.join();
      assertEquals(null, failure.get());
      assertArrayEquals(data, got);
    }
    assertEquals(List.of(), warnings);
    // The kill landed mid-body: the stream resumed with a range that starts inside the file.
    List<Long> starts = nginx.rangeStarts();
    assertTrue(
        starts.stream().anyMatch(s -> s > 0 && s < data.length),
        "no resumed range in " + nginx.accessLog());
  }

  /**
   * Where the second GET of {@code server} resumed, checked against the byte the server cut at: at
   * it, or a little before (java.net.http drops what it still buffered when the connection breaks,
   * and those bytes are asked for again), never after.
   */
  private static long resumedAt(RangeServer server, long cut) {
    List<String> r = server.requests();
    assertEquals(2, r.size(), r.toString());
    assertEquals("GET -", r.get(0));
    assertTrue(r.get(1).matches("GET bytes=\\d+-"), r.toString());
    long at = Long.parseLong(r.get(1).substring("GET bytes=".length(), r.get(1).length() - 1));
    assertTrue(at <= cut && at > cut - (64 << 10), "cut at " + cut + ", resumed at " + at);
    return at;
  }

  @Test
  void connectionCutAtAKnownByteResumesThereByteExact() throws Exception {
    byte[] file = TestFiles.random(3 * MIB + 17, 21);
    long cut = MIB + 5;
    List<String> notices = new CopyOnWriteArrayList<>();
    long at;
    try (RangeServer server = new RangeServer(file)) {
      server.cutOnceAt(cut, null); // before the GET: the server sends the body at once
      try (HttpStream in =
          HttpStream.open(
              server.uri("/disk.img"),
              TestFiles.options().withNotices(notices::add),
              warnings::add)) {
        assertArrayEquals(file, in.readAllBytes());
      }
      at = resumedAt(server, cut);
      assertEquals(cut + (file.length - at), server.bodyBytes(), "bytes sent: cut, then the rest");
      assertEquals(2, server.connections());
    }
    assertEquals(List.of(), warnings);
    assertEquals(2, notices.size(), notices.toString());
    assertTrue(
        notices
            .get(0)
            .endsWith(
                "failed (the connection closed after "
                    + at
                    + " of "
                    + file.length
                    + " bytes): retrying for up to 30 s"),
        notices.get(0));
    assertTrue(notices.get(1).startsWith("reconnected to 127.0.0.1:"), notices.get(1));
  }

  @Test
  void withoutRangesTheCutRestartsFromZeroAndSkipsExactly() throws Exception {
    byte[] file = TestFiles.random(2 * MIB + 3, 22);
    long cut = MIB - 1;
    long at;
    try (RangeServer server = new RangeServer(file)) {
      server.ignoreRanges();
      server.cutOnceAt(cut, null);
      try (HttpStream in =
          HttpStream.open(server.uri("/disk.img"), TestFiles.options(), warnings::add)) {
        assertArrayEquals(file, in.readAllBytes());
      }
      at = resumedAt(server, cut);
      assertEquals(cut + file.length, server.bodyBytes(), "the cut part, then all again");
    }
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(
        warnings.get(0).contains("skipping the " + at + " bytes already read"), warnings.get(0));
  }

  @Test
  void fileReplacedAtTheCutIsReported() throws Exception {
    byte[] file = TestFiles.random(2 * MIB, 23);
    try (RangeServer server = new RangeServer(file)) {
      server.cutOnceAt(MIB, () -> server.replace(TestFiles.random(2 * MIB, 24)));
      ImageChangedException e;
      try (HttpStream in =
          HttpStream.open(server.uri("/disk.img"), TestFiles.options(), warnings::add)) {
        e = assertThrows(ImageChangedException.class, in::readAllBytes);
      }
      resumedAt(server, MIB);
      assertTrue(
          e.getMessage().contains("changed while it was being restored (ETag \"v1-"),
          e.getMessage());
    }
  }

  @Test
  void withoutRangeSupportRestartsFromZeroWithAWarning() throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (HttpStream in =
        HttpStream.open(nginx.uri("/slownoranges/disk.img"), TestFiles.options(), warnings::add)) {
      Thread t = restartSoon(failure, false);
      byte[] got = in.readAllBytes();
      t.join();
      assertEquals(null, failure.get());
      assertArrayEquals(data, got);
    }
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(
        warnings
            .get(0)
            .startsWith(
                "server 127.0.0.1:"
                    + nginx.port()
                    + " does not support ranges: restarting from zero"),
        warnings.get(0));
  }

  @Test
  void fileChangedDuringTheOutageIsReported() throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (HttpStream in =
        HttpStream.open(nginx.uri("/slow/disk.img"), TestFiles.options(), warnings::add)) {
      Thread t = restartSoon(failure, true);
      ImageChangedException e = assertThrows(ImageChangedException.class, in::readAllBytes);
      t.join();
      assertEquals(null, failure.get());
      assertTrue(
          e.getMessage().contains("changed while it was being restored (ETag \""), e.getMessage());
    }
  }

  @Test
  void notFound() {
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () -> HttpStream.open(nginx.uri("/nope.img.zst"), TestFiles.options(), warnings::add));
    assertEquals(HttpSourceException.Kind.NOT_FOUND, e.kind());
  }
}
