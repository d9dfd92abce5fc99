package dev.imprint.engine.http;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * The small HTTP/1.1 client behind {@link HttpRangeReader}'s HEAD and ranged GETs, used for http://
 * and https:// URLs reached without a proxy and with headers it can send verbatim. It keeps a pool
 * of keep-alive connections (a blocking {@link SocketChannel} for http://, an {@link SSLSocket}
 * over a plain socket for https://), parses the response headers itself, and reads bodies straight
 * into the caller's buffer (https:// into a direct buffer goes through one 64 KiB scratch array).
 * java.net.http costs several times the CPU per byte received on the restore's hot path (its
 * selector thread, body subscribers and heap copies; measured in docs/BENCHMARKS.md), and it drops
 * a connection whose body is closed before its end.
 *
 * <p>The response headers must all arrive within the request timeout; the body is watched by the
 * caller ({@link HttpEndpoint.Watch}), which also cuts off servers too slow to count as progress.
 * Responses it does not handle (redirects, chunked bodies) are reported as {@link
 * Response#unsupported()}, and the caller repeats the request with java.net.http, which also does
 * everything else: proxies, {@link HttpStream}. A restore from a plain server therefore never
 * builds java.net.http's client, its TLS context or its selector thread (which alone holds the
 * JVM's exit for ~300 ms: a thread blocked in native code).
 */
final class FastHttp implements AutoCloseable {
  private static final int HEADER_BUFFER = 16 << 10;
  private static final Set<String> RESERVED =
      Set.of(
          "host",
          "connection",
          "content-length",
          "expect",
          "upgrade",
          "range",
          "if-match",
          "if-unmodified-since",
          "transfer-encoding",
          "te",
          "keep-alive");

  private final String host; // without brackets
  private final int port;
  private final SSLSocketFactory tls; // null for http://
  private final String target; // path and query
  private final String hostHeader;
  private final List<String[]> headers;
  private final long connectTimeoutMs;
  private final long requestTimeoutNanos;
  private final int maxIdle;
  private final ConcurrentLinkedDeque<Conn> idle = new ConcurrentLinkedDeque<>();
  private volatile boolean closed;

  private FastHttp(URI uri, HttpOptions options, List<String[]> headers, SSLContext ssl) {
    String h = uri.getHost();
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    this.host = h;
    this.tls = ssl == null ? null : ssl.getSocketFactory();
    this.port = uri.getPort() >= 0 ? uri.getPort() : ssl == null ? 80 : 443;
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    this.target = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    this.hostHeader = uri.getRawAuthority();
    this.headers = headers;
    this.connectTimeoutMs = Math.max(1, options.connectTimeout().toMillis());
    this.requestTimeoutNanos = options.requestTimeout().toNanos();
    this.maxIdle = options.connections();
  }

  /**
   * The fast path for {@code uri}, or null when java.net.http must be used: https, a proxy (from
   * the environment or the JVM's default selector), or extra headers it would send differently.
   *
   * @param headers the endpoint's request headers (User-Agent, Accept-Encoding, then the user's)
   */
  static FastHttp forUri(URI uri, HttpOptions options, List<String[]> headers, SSLContext ssl) {
    boolean https = "https".equalsIgnoreCase(uri.getScheme());
    if (!https && !"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
      return null;
    }
    if (https && ssl == null) {
      return null;
    }
    if (HttpClients.EnvProxy.from(options.environment()) != null) {
      HttpClients.EnvProxy p = HttpClients.EnvProxy.from(options.environment());
      if (!p.select(uri).equals(List.of(Proxy.NO_PROXY))) {
        return null;
      }
    } else {
      ProxySelector def = ProxySelector.getDefault();
      if (def != null) {
        try {
          for (Proxy p : def.select(uri)) {
            if (p.type() != Proxy.Type.DIRECT) {
              return null;
            }
          }
        } catch (RuntimeException e) {
          return null;
        }
      }
    }
    for (String[] h : headers) {
      String n = h[0].toLowerCase(Locale.ROOT);
      if (RESERVED.contains(n)
          || !h[1].chars().allMatch(c -> c == '\t' || c >= 32 && c < 127 || c >= 160 && c < 256)) {
        return null;
      }
    }
    return new FastHttp(uri, options, headers, https ? ssl : null);
  }

  /** Sends a GET for {@code range} with the given validator header (name, value; may be null). */
  Response get(String range, String validatorName, String validatorValue) throws IOException {
    return send("GET", range, validatorName, validatorValue);
  }

  /** Sends a HEAD: the answer's headers, and no body whatever its Content-Length says. */
  Response head() throws IOException {
    return send("HEAD", null, null, null);
  }

  private Response send(String method, String range, String validatorName, String validatorValue)
      throws IOException {
    StringBuilder sb = new StringBuilder(256);
    sb.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
    sb.append("Host: ").append(hostHeader).append("\r\n");
    for (String[] h : headers) {
      sb.append(h[0]).append(": ").append(h[1]).append("\r\n");
    }
    if (range != null) {
      sb.append("Range: ").append(range).append("\r\n");
    }
    if (validatorName != null) {
      sb.append(validatorName).append(": ").append(validatorValue).append("\r\n");
    }
    sb.append("Connection: keep-alive\r\n\r\n");
    byte[] request = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    while (true) {
      Conn c = idle.pollFirst();
      boolean reused = c != null;
      if (c == null) {
        c = connect();
      }
      try {
        return exchange(c, request, method.equals("HEAD"));
      } catch (StaleConnection e) {
        c.close();
        if (!reused) {
          throw new IOException("the connection closed before an answer", e.getCause());
        }
        // a kept-alive connection the server had closed: try again on another one
      } catch (IOException | RuntimeException e) {
        c.close();
        throw e;
      }
    }
  }

  private Conn connect() throws IOException {
    InetAddress address = InetAddress.getByName(host); // UnknownHostException when unresolved
    InetSocketAddress to = new InetSocketAddress(address, port);
    int timeout = (int) Math.min(Integer.MAX_VALUE, connectTimeoutMs);
    if (tls == null) {
      SocketChannel ch = SocketChannel.open();
      try {
        ch.socket().setTcpNoDelay(true);
        ch.socket().connect(to, timeout);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw connectFailed(e);
      }
      return new PlainConn(ch);
    }
    Socket plain = new Socket();
    try {
      plain.setTcpNoDelay(true);
      plain.connect(to, timeout);
      SSLSocket ssl = (SSLSocket) tls.createSocket(plain, host, port, true);
      SSLParameters params = ssl.getSSLParameters();
      params.setEndpointIdentificationAlgorithm("HTTPS");
      ssl.setSSLParameters(params);
      ssl.setUseClientMode(true);
      plain.setSoTimeout(timeout);
      ssl.startHandshake();
      plain.setSoTimeout(0);
      return new TlsConn(plain, ssl);
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw connectFailed(e);
    }
  }

  private IOException connectFailed(Exception e) {
    if (e instanceof ClosedByInterruptException) {
      return interrupted();
    }
    if (e instanceof SocketTimeoutException) {
      return new HttpConnectTimeoutException("connection timed out");
    }
    if (e instanceof ConnectException) {
      return new ConnectException("connection refused");
    }
    if (e instanceof IOException io) {
      return io;
    }
    return new IOException(e.getMessage(), e);
  }

  private InterruptedIOException interrupted() {
    Thread.currentThread().interrupt();
    return new InterruptedIOException(
        "interrupted while reading "
            + (tls == null ? "http://" : "https://")
            + hostHeader
            + target);
  }

  /** Thrown when a connection fails before any byte of the answer. */
  private static final class StaleConnection extends IOException {
    StaleConnection(Throwable cause) {
      super(cause);
    }
  }

  private Response exchange(Conn c, byte[] request, boolean head) throws IOException {
    ByteBuffer buf = c.buf;
    buf.clear();
    HttpEndpoint.Watch watch = new HttpEndpoint.Watch(c.watchTarget(), requestTimeoutNanos);
    try {
      try {
        c.write(request);
      } catch (ClosedByInterruptException e) {
        throw interrupted();
      } catch (IOException e) {
        if (watch.fired()) {
          throw new HttpTimeoutException("request timed out");
        }
        throw new StaleConnection(e);
      }
      while (true) {
        int end;
        // read until the end of the headers
        while ((end = headerEnd(buf)) < 0) {
          if (!buf.hasRemaining()) {
            throw new IOException("response headers larger than " + HEADER_BUFFER + " bytes");
          }
          int k;
          try {
            k = c.read(buf);
          } catch (ClosedByInterruptException e) {
            throw interrupted();
          } catch (IOException e) {
            if (watch.fired()) {
              throw new HttpTimeoutException("request timed out");
            }
            if (buf.position() == 0) {
              throw new StaleConnection(e);
            }
            throw e;
          }
          if (k < 0) {
            if (watch.fired()) {
              throw new HttpTimeoutException("request timed out");
            }
            if (buf.position() == 0) {
              throw new StaleConnection(new EOFException("EOF reached while reading"));
            }
            throw new EOFException("EOF reached while reading");
          }
          // no watch.progress(): the headers must all arrive within the request timeout, so a
          // server that trickles them cannot hold the request open
        }
        Response r = parse(c, buf, end, head);
        if (r != null) {
          return r;
        }
        // 1xx: drop it and read the next answer
        buf.limit(buf.position()).position(end);
        buf.compact();
      }
    } finally {
      watch.close();
    }
  }

  /** The index just past "\r\n\r\n" in buf[0, position), or -1. */
  private static int headerEnd(ByteBuffer buf) {
    int n = buf.position();
    for (int i = 3; i < n; i++) {
      if (buf.get(i) == '\n'
          && buf.get(i - 1) == '\r'
          && buf.get(i - 2) == '\n'
          && buf.get(i - 3) == '\r') {
        return i + 1;
      }
    }
    return -1;
  }

  private Response parse(Conn c, ByteBuffer buf, int end, boolean head) throws IOException {
    byte[] raw = new byte[end];
    buf.get(0, raw);
    String text = new String(raw, StandardCharsets.ISO_8859_1);
    String[] lines = text.split("\r\n");
    String statusLine = lines[0];
    if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
      throw new IOException("invalid HTTP response: " + statusLine);
    }
    boolean http10 = statusLine.startsWith("HTTP/1.0");
    int status;
    try {
      status = Integer.parseInt(statusLine.substring(9, 12));
    } catch (NumberFormatException e) {
      throw new IOException("invalid HTTP status line: " + statusLine);
    }
    if (status >= 100 && status < 200 && status != 101) {
      return null;
    }
    Map<String, List<String>> map = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (int i = 1; i < lines.length; i++) {
      String l = lines[i];
      int colon = l.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      map.computeIfAbsent(l.substring(0, colon).trim(), k -> new ArrayList<>())
          .add(l.substring(colon + 1).trim());
    }
    HttpHeaders h = HttpHeaders.of(map, (a, b) -> true);
    boolean keepAlive = !http10;
    for (String v : h.allValues("Connection")) {
      for (String t : v.split(",")) {
        String x = t.trim().toLowerCase(Locale.ROOT);
        if (x.equals("close")) {
          keepAlive = false;
        } else if (x.equals("keep-alive") && http10) {
          keepAlive = true;
        }
      }
    }
    boolean chunked =
        !head
            && h.allValues("Transfer-Encoding").stream()
                .anyMatch(v -> !v.trim().equalsIgnoreCase("identity"));
    // A HEAD's answer has no body; its Content-Length is the file's.
    long length = head ? 0 : h.firstValueAsLong("Content-Length").orElse(-1);
    // leftover body bytes stay in buf, between position and limit
    int have = buf.position();
    buf.limit(have).position(end);
    boolean unsupported = chunked || status >= 300 && status < 400 && status != 304;
    return new Response(
        c, status, h, unsupported ? -1 : length, keepAlive && !unsupported, unsupported);
  }

  @Override
  public void close() {
    closed = true;
    Conn c;
    while ((c = idle.pollFirst()) != null) {
      c.close();
    }
  }

  private void release(Conn c) {
    if (closed || idle.size() >= maxIdle) {
      c.close();
    } else {
      idle.offerFirst(c);
    }
    if (closed) {
      close();
    }
  }

  /** One kept-alive connection and the buffer its answers' headers are read into. */
  private abstract static class Conn implements Closeable {
    final ByteBuffer buf;

    Conn(ByteBuffer buf) {
      this.buf = buf;
    }

    /** Like {@link SocketChannel#read}: bytes read into dst, -1 at the end. */
    abstract int read(ByteBuffer dst) throws IOException;

    abstract void write(byte[] request) throws IOException;

    /** What the watchdog closes when the server stalls. */
    abstract Closeable watchTarget();

    @Override
    public abstract void close();
  }

  /** http://: a blocking SocketChannel reading straight into the caller's (direct) buffer. */
  private static final class PlainConn extends Conn {
    private final SocketChannel channel;

    PlainConn(SocketChannel channel) {
      super(ByteBuffer.allocateDirect(HEADER_BUFFER));
      this.channel = channel;
    }

    @Override
    int read(ByteBuffer dst) throws IOException {
      return channel.read(dst);
    }

    @Override
    void write(byte[] request) throws IOException {
      ByteBuffer out = ByteBuffer.wrap(request);
      while (out.hasRemaining()) {
        channel.write(out);
      }
    }

    @Override
    Closeable watchTarget() {
      return channel;
    }

    @Override
    public void close() {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }

  /** https://: an SSLSocket layered on a plain socket (which the watchdog closes). */
  private static final class TlsConn extends Conn {
    private final Socket plain;
    private final SSLSocket ssl;
    private final InputStream in;
    private final OutputStream out;
    private byte[] scratch;

    TlsConn(Socket plain, SSLSocket ssl) throws IOException {
      super(ByteBuffer.allocate(HEADER_BUFFER));
      this.plain = plain;
      this.ssl = ssl;
      this.in = ssl.getInputStream();
      this.out = ssl.getOutputStream();
    }

    @Override
    int read(ByteBuffer dst) throws IOException {
      int k;
      if (dst.hasArray()) {
        k = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
        if (k > 0) {
          dst.position(dst.position() + k);
        }
      } else {
        if (scratch == null) {
          scratch = new byte[64 << 10];
        }
        k = in.read(scratch, 0, Math.min(scratch.length, dst.remaining()));
        if (k > 0) {
          dst.put(scratch, 0, k);
        }
      }
      return k;
    }

    @Override
    void write(byte[] request) throws IOException {
      out.write(request);
      out.flush();
    }

    @Override
    Closeable watchTarget() {
      return plain;
    }

    @Override
    public void close() {
      try {
        plain.close(); // not the SSLSocket: its close_notify could block on a dead peer
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }

  /** One answer: status and headers read, body not yet. */
  final class Response implements AutoCloseable {
    private final Conn conn;
    private final int status;
    private final HttpHeaders headers;
    private long remaining; // body bytes still to read; -1 until the connection closes
    private final boolean keepAlive;
    private final boolean unsupported;
    private boolean eof;
    private boolean done;

    Response(
        Conn conn,
        int status,
        HttpHeaders headers,
        long length,
        boolean keepAlive,
        boolean unsupported) {
      this.conn = conn;
      this.status = status;
      this.headers = headers;
      this.remaining = length;
      this.keepAlive = keepAlive && length >= 0;
      this.unsupported = unsupported;
    }

    int status() {
      return status;
    }

    HttpHeaders headers() {
      return headers;
    }

    /** A redirect or a chunked body: ask again with java.net.http. */
    boolean unsupported() {
      return unsupported;
    }

    /** What the watchdog closes when the body stalls. */
    Closeable channel() {
      return conn.watchTarget();
    }

    /**
     * Reads body bytes into dst until it is full or the body ends; calls watch.progress(k) after
     * every read that gave bytes.
     */
    void readInto(ByteBuffer dst, HttpEndpoint.Watch watch) throws IOException {
      ByteBuffer buf = conn.buf;
      while (dst.hasRemaining() && remaining != 0 && !eof) {
        int want = dst.remaining();
        if (remaining > 0 && remaining < want) {
          want = (int) remaining;
        }
        int k;
        if (buf.hasRemaining()) {
          k = Math.min(want, buf.remaining());
          int lim = buf.limit();
          buf.limit(buf.position() + k);
          dst.put(buf);
          buf.limit(lim);
        } else {
          int lim = dst.limit();
          dst.limit(dst.position() + want);
          try {
            k = conn.read(dst);
          } catch (ClosedByInterruptException e) {
            throw interrupted();
          } finally {
            dst.limit(lim);
          }
          if (k < 0) {
            eof = true;
            return;
          }
        }
        if (remaining > 0) {
          remaining -= k;
        }
        if (k > 0) {
          watch.progress(k);
        }
      }
    }

    /** Returns the connection to the pool when its body was read to the end, else closes it. */
    @Override
    public void close() {
      if (done) {
        return;
      }
      done = true;
      if (keepAlive && remaining == 0 && !eof && !conn.buf.hasRemaining()) {
        release(conn);
      } else {
        conn.close();
      }
    }
  }
}
