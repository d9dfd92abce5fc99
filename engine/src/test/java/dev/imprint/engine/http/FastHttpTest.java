package dev.imprint.engine.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The keep-alive fast path of {@link HttpRangeReader} against a scripted server: connections are
 * reused, the request carries the validators and headers, and answers it does not handle
 * (redirects, chunked bodies, Connection: close) still give the right bytes.
 */
class FastHttpTest {
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");

  private final byte[] data = TestFiles.random(300_000, 7);
  private ServerSocket server;
  private Thread acceptor;
  private final AtomicInteger connections = new AtomicInteger();
  private final List<String> requests = new CopyOnWriteArrayList<>();

  /** Per path: "206", "close", "chunked", "redirect:/target" (GETs), "redirect-all:/target". */
  private final Map<String, String> mode = new ConcurrentHashMap<>();

  @BeforeEach
  void start() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try {
                  Socket s = server.accept();
                  connections.incrementAndGet();
                  Thread t = new Thread(() -> serve(s));
                  t.setDaemon(true);
                  t.start();
                } catch (IOException e) {
                  return;
                }
              }
            });
    acceptor.setDaemon(true);
    acceptor.start();
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    acceptor.join(5000);
  }

  private URI uri(String path) {
    return URI.create("http://u%3Aser:p%40ss@127.0.0.1:" + server.getLocalPort() + path);
  }

  private void serve(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      while (true) {
        String head = readHead(in);
        if (head == null) {
          return;
        }
        requests.add(head);
        String[] lines = head.split("\r\n");
        String[] first = lines[0].split(" ");
        String method = first[0];
        String path = first[1];
        String range = null;
        for (String l : lines) {
          if (l.toLowerCase(Locale.ROOT).startsWith("range:")) {
            range = l.substring(6).trim();
          }
        }
        String m = mode.getOrDefault(path, "206");
        String common = "ETag: \"v1\"\r\nLast-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n";
        if (method.equals("HEAD") && m.startsWith("redirect-all:")) {
          out.write(
              ("HTTP/1.1 301 Moved Permanently\r\nLocation: "
                      + m.substring(13)
                      + "\r\nContent-Length: 0\r\n\r\n")
                  .getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          continue;
        }
        if (method.equals("HEAD")) {
          out.write(
              ("HTTP/1.1 200 OK\r\n" + common + "Content-Length: " + data.length + "\r\n\r\n")
                  .getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          continue;
        }
        if (m.startsWith("redirect:") || m.startsWith("redirect-all:")) {
          out.write(
              ("HTTP/1.1 302 Found\r\nLocation: "
                      + m.substring(m.indexOf(':') + 1)
                      + "\r\nContent-Length: 0\r\n\r\n")
                  .getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          continue;
        }
        Matcher r = RANGE.matcher(range);
        assertTrue(r.matches(), range);
        int a = Integer.parseInt(r.group(1));
        int b = Integer.parseInt(r.group(2));
        byte[] body = Arrays.copyOfRange(data, a, b + 1);
        String h =
            "HTTP/1.1 206 Partial Content\r\n"
                + common
                + "Content-Range: bytes "
                + a
                + "-"
                + b
                + "/"
                + data.length
                + "\r\n";
        if (m.equals("chunked")) {
          out.write(
              (h + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
          for (int i = 0; i < body.length; i += 1000) {
            int n = Math.min(1000, body.length - i);
            out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(body, i, n);
            out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
          }
          out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          continue;
        }
        boolean close = m.equals("close");
        out.write(
            (h
                    + "Content-Length: "
                    + body.length
                    + "\r\n"
                    + (close ? "Connection: close\r\n" : "")
                    + "\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
        if (close) {
          return;
        }
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0) {
      b.write(c);
      byte[] x = b.toByteArray();
      int n = x.length;
      if (n >= 4 && x[n - 4] == '\r' && x[n - 3] == '\n' && x[n - 2] == '\r' && x[n - 1] == '\n') {
        return new String(x, StandardCharsets.ISO_8859_1);
      }
    }
    return null;
  }

  private void readAll(HttpRangeReader r, boolean direct) throws IOException {
    for (int pos = 0; pos < data.length; pos += 50_000) {
      int n = Math.min(50_000, data.length - pos);
      ByteBuffer b = direct ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
      r.readFully(b, pos);
      b.flip();
      byte[] got = new byte[n];
      b.get(got);
      assertArrayEquals(Arrays.copyOfRange(data, pos, pos + n), got, "bytes at " + pos);
    }
  }

  private HttpOptions options() {
    return TestFiles.options().withHeaders(List.of("X-Extra: yes", "User-Agent: tester"));
  }

  @Test
  void rangesReuseOneConnectionAndCarryValidatorsAndHeaders() throws Exception {
    try (HttpRangeReader r = HttpRangeReader.open(uri("/f"), options())) {
      assertEquals(1, connections.get(), "the HEAD that opened the reader");
      readAll(r, true);
      readAll(r, false);
      assertEquals(1, connections.get(), "the HEAD and the sequential reads share one connection");
    }
    // The HEAD went through the fast path too (java.net.http sends no Connection header): a
    // restore from a plain server never builds java.net.http's client.
    String head = requests.get(0);
    assertTrue(head.startsWith("HEAD /f HTTP/1.1\r\n"), head);
    assertTrue(head.contains("\r\nConnection: keep-alive\r\n"), head);
    assertTrue(head.contains("\r\nX-Extra: yes\r\n"), head);
    String get = requests.get(requests.size() - 1);
    assertTrue(get.startsWith("GET /f HTTP/1.1\r\n"), get);
    assertTrue(get.contains("\r\nIf-Match: \"v1\"\r\n"), get);
    assertTrue(get.contains("\r\nX-Extra: yes\r\n"), get);
    assertTrue(get.contains("\r\nUser-Agent: tester\r\n"), get);
    assertTrue(!get.contains("imprint"), get);
    assertTrue(get.contains("\r\nAccept-Encoding: identity\r\n"), get);
    assertTrue(get.contains("\r\nAuthorization: Basic dTpzZXI6cEBzcw==\r\n"), get); // u:ser:p@ss
    assertTrue(get.contains("\r\nHost: 127.0.0.1:" + server.getLocalPort() + "\r\n"), get);
  }

  @Test
  void connectionCloseAnswersAreRead() throws Exception {
    mode.put("/c", "close");
    try (HttpRangeReader r = HttpRangeReader.open(uri("/c"), options())) {
      readAll(r, true);
    }
  }

  @Test
  void chunkedAnswersFallBackToJavaNetHttp() throws Exception {
    mode.put("/k", "chunked");
    try (HttpRangeReader r = HttpRangeReader.open(uri("/k"), options())) {
      readAll(r, true);
    }
  }

  @Test
  void redirectsAreFollowed() throws Exception {
    try (HttpRangeReader r = HttpRangeReader.open(uri("/f"), options())) {
      mode.put("/f", "redirect:/g");
      readAll(r, true);
    }
    assertTrue(requests.stream().anyMatch(x -> x.startsWith("GET /g ")), requests.toString());
  }

  @Test
  void aRedirectedHeadOpensTheTargetThroughJavaNetHttp() throws Exception {
    mode.put("/f", "redirect-all:/g");
    try (HttpRangeReader r = HttpRangeReader.open(uri("/f"), options())) {
      assertEquals(data.length, r.size());
      readAll(r, false);
    }
    assertTrue(requests.get(0).startsWith("HEAD /f "), requests.toString());
    assertTrue(requests.stream().anyMatch(x -> x.startsWith("HEAD /g ")), requests.toString());
    // After the redirect every range goes through java.net.http, which follows it.
    assertTrue(
        requests.stream().filter(x -> x.startsWith("GET /f ")).allMatch(x -> x.contains("Range")),
        requests.toString());
    assertTrue(requests.stream().anyMatch(x -> x.startsWith("GET /g ")), requests.toString());
  }
}
