package dev.imprint.engine.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small HTTP/1.1 server for one file, written for tests that must put a failure at a known byte:
 * it answers HEAD and GET with single ranges ({@code bytes=A-B}, {@code bytes=A-}), keeps
 * connections alive, gives an ETag and Last-Modified, and honours If-Match and If-Range. What it
 * does wrong is chosen by the test:
 *
 * <ul>
 *   <li>{@link #cutOnceAt}: the first body that reaches a file offset stops exactly there and the
 *       connection is closed (then an optional action runs, e.g. {@link #replace});
 *   <li>{@link #trickle}: every body comes a few bytes at a time with a pause between;
 *   <li>{@link #stallAfter}: every body sends a few bytes, then nothing, connection held open;
 *   <li>{@link #ignoreRanges}: every GET is answered 200 with the whole file.
 * </ul>
 *
 * It counts connections and body bytes and logs each request as "METHOD range" (range "-" when
 * none), so a test can assert where a transfer broke and where it resumed.
 */
public final class RangeServer implements AutoCloseable {
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

  private final ServerSocket server;
  private final Thread acceptor;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicLong bodyBytes = new AtomicLong();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private volatile byte[] data;
  private volatile String etag;
  private volatile String lastModified = "Mon, 01 Jan 2024 00:00:00 GMT";
  private volatile long cutAt = -1;
  private volatile Runnable afterCut;
  private volatile int trickleBytes;
  private volatile Duration tricklePause;
  private volatile int stallAfter = -1;
  private volatile boolean ignoreRanges;

  /** Serves {@code data} on a free loopback port. */
  public RangeServer(byte[] data) throws IOException {
    this(data, 0);
  }

  /** Serves {@code data} on {@code port} of the loopback address (0: any free port). */
  public RangeServer(byte[] data, int port) throws IOException {
    this.data = data;
    this.etag = "\"v1-" + data.length + "\"";
    server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
    acceptor = new Thread(this::accept, "range-server-" + server.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** A loopback port nothing listens on (it was free a moment ago). */
  public static int unusedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Any path serves the file; {@code path} starts with a slash. */
  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port() + path);
  }

  /**
   * The next body that would send the byte at file offset {@code offset} sends the bytes before it
   * and closes the connection; then {@code then} runs (may be null). Once.
   */
  public void cutOnceAt(long offset, Runnable then) {
    afterCut = then;
    cutAt = offset;
  }

  /** Bodies from now on come {@code bytes} at a time, {@code pause} apart. */
  public void trickle(int bytes, Duration pause) {
    tricklePause = pause;
    trickleBytes = bytes;
  }

  /** Bodies from now on send {@code bytes} and then nothing more (the connection stays open). */
  public void stallAfter(int bytes) {
    stallAfter = bytes;
  }

  /** GETs from now on are answered 200 with the whole file, Range or not. */
  public void ignoreRanges() {
    ignoreRanges = true;
  }

  /** Serves new content from now on, with a new ETag and Last-Modified. */
  public void replace(byte[] content) {
    data = content;
    etag = "\"v2-" + content.length + "\"";
    lastModified = "Tue, 02 Jan 2024 00:00:00 GMT";
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** Body bytes written so far, over all connections. */
  public long bodyBytes() {
    return bodyBytes.get();
  }

  /** Each request so far as "METHOD range", e.g. "GET bytes=100-199" or "HEAD -". */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  /** Only the GETs' ranges, in order. */
  public List<String> getRanges() {
    return requests.stream().filter(r -> r.startsWith("GET ")).map(r -> r.substring(4)).toList();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        connections.incrementAndGet();
        open.add(s);
        Thread t = new Thread(() -> serve(s), "range-server-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(s.getInputStream());
      OutputStream out = s.getOutputStream();
      while (true) {
        String head = readHead(in);
        if (head == null) {
          return;
        }
        if (!answer(head, s, out)) {
          return;
        }
      }
    } catch (IOException | InterruptedException e) {
      // the client went away, or the test is over
    } finally {
      open.remove(s);
    }
  }

  /** The request line and headers, or null at the end of the connection. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      b.write(c);
      state =
          (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3))
              ? state + 1
              : 0;
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  private static String header(String head, String name) {
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  /** Answers one request; false when the connection was closed. */
  private boolean answer(String head, Socket s, OutputStream out)
      throws IOException, InterruptedException {
    String method = head.substring(0, head.indexOf(' ')).toUpperCase(Locale.ROOT);
    String range = header(head, "Range");
    requests.add(method + " " + (range == null ? "-" : range));
    byte[] d = data;
    String tag = etag;
    String common =
        "ETag: " + tag + "\r\nLast-Modified: " + lastModified + "\r\nAccept-Ranges: bytes\r\n";
    if (method.equals("HEAD")) {
      write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + d.length + "\r\n" + common + "\r\n");
      return true;
    }
    String ifMatch = header(head, "If-Match");
    if (ifMatch != null && !ifMatch.equals(tag)) {
      write(out, "HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n" + common + "\r\n");
      return true;
    }
    String ifRange = header(head, "If-Range");
    boolean rangeApplies =
        range != null && !ignoreRanges && (ifRange == null || ifRange.equals(tag));
    long from = 0;
    long last = d.length - 1;
    if (rangeApplies) {
      Matcher m = RANGE.matcher(range);
      if (!m.matches() || Long.parseLong(m.group(1)) >= d.length) {
        write(
            out,
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nContent-Range: bytes */"
                + d.length
                + "\r\n"
                + common
                + "\r\n");
        return true;
      }
      from = Long.parseLong(m.group(1));
      if (!m.group(2).isEmpty()) {
        last = Math.min(last, Long.parseLong(m.group(2)));
      }
      write(
          out,
          "HTTP/1.1 206 Partial Content\r\nContent-Length: "
              + (last - from + 1)
              + "\r\nContent-Range: bytes "
              + from
              + "-"
              + last
              + "/"
              + d.length
              + "\r\n"
              + common
              + "\r\n");
    } else {
      write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + d.length + "\r\n" + common + "\r\n");
    }
    return body(d, from, last + 1, s, out);
  }

  private static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Sends d[from, end) as the rules say; false when the connection was closed. */
  private boolean body(byte[] d, long from, long end, Socket s, OutputStream out)
      throws IOException, InterruptedException {
    long cut = cutAt;
    if (cut >= from && cut < end) {
      synchronized (this) {
        if (cutAt == cut) {
          cutAt = -1;
        } else {
          cut = -1; // another connection took the cut
        }
      }
    } else {
      cut = -1;
    }
    long stop = cut >= 0 ? cut : end;
    int stall = stallAfter;
    if (stall >= 0) {
      stop = Math.min(stop, from + stall);
    }
    int step = trickleBytes > 0 ? trickleBytes : 64 << 10;
    for (long p = from; p < stop; ) {
      int n = (int) Math.min(step, stop - p);
      out.write(d, (int) p, n);
      out.flush();
      bodyBytes.addAndGet(n);
      p += n;
      if (trickleBytes > 0 && p < stop) {
        Thread.sleep(tricklePause.toMillis());
      }
    }
    if (cut >= 0) {
      s.close(); // a FIN right after the last byte: the client has every byte before the cut
      Runnable then = afterCut;
      if (then != null) {
        then.run();
      }
      return false;
    }
    if (stall >= 0 && stop < end) {
      // Hold the connection open, sending nothing, until the client gives up on it.
      while (s.getInputStream().read() >= 0) {
        // a client sends nothing more on a connection it waits on
      }
      return false;
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : open) {
      s.close();
    }
    try {
      acceptor.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
