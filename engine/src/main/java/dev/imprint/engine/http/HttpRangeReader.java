package dev.imprint.engine.http;

import dev.imprint.engine.http.HttpEndpoint.Retry;
import dev.imprint.engine.http.HttpEndpoint.Retryable;
import dev.imprint.engine.http.HttpEndpoint.Watch;
import dev.imprint.engine.http.HttpSourceException.Kind;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.concurrent.Semaphore;

/**
 * A file on an HTTP(S) server, read with Range requests: an Imprint image, or a raw disk image read
 * at random like a local one (used-block analysis, parallel reads). {@link #open} learns the length
 * and the validators (ETag, Last-Modified) with one request; every {@link #read} is one ranged GET
 * (more when the connection breaks: the rest of the range is asked for again) conditional on those
 * validators, so a file replaced on the server is noticed ({@link ImageChangedException}) instead
 * of mixing two images. Retryable failures (connection refused or reset, timeouts, stalls, short
 * bodies, 5xx, 429 with Retry-After) are retried with backoff for up to {@link
 * HttpOptions#retryBudget()} without useful progress (a server that trickles bytes too slowly to
 * count is cut off within the same budget); a server never reached is given {@link
 * HttpOptions#firstContactBudget()}. Each outage is told to {@link HttpOptions#notices()} once.
 *
 * <p>Thread-safe: parallel {@code read} calls run as parallel requests, at most {@link
 * HttpOptions#connections()} at a time.
 */
public final class HttpRangeReader implements RandomAccessDisk {
  private static final int COPY = 64 << 10;

  private final HttpEndpoint endpoint;
  private final FastHttp fast; // null when java.net.http does every request
  private volatile boolean fastRefused; // the server redirects or sends chunked bodies
  private final Semaphore connections;
  // Learnt by open's probe, before the reader is handed out.
  private Validators validators;
  private long length;

  private HttpRangeReader(HttpEndpoint endpoint) throws IOException {
    this.endpoint = endpoint;
    this.connections = new Semaphore(endpoint.options.connections(), true);
    boolean https = "https".equalsIgnoreCase(endpoint.uri.getScheme());
    this.fast =
        FastHttp.forUri(
            endpoint.uri,
            endpoint.options,
            endpoint.requestHeaders(),
            https ? endpoint.sslContext() : null);
  }

  /**
   * Starts setting up what {@link #open} with these very options will need for {@code source} (the
   * TLS context and its trust store, for an https:// URL) on another thread, so that it overlaps
   * the caller's own start-up.
   */
  public static void prepare(HttpOptions options, String source) {
    HttpClients.prepare(options, source);
  }

  /**
   * Learns the file's length and validators with a HEAD request (or a GET of byte 0 when HEAD is
   * refused or gives no length).
   *
   * @throws HttpSourceException with a one-line message: not found, access denied, unknown host,
   *     cannot connect, TLS, no range support
   */
  public static HttpRangeReader open(URI uri, HttpOptions options) throws IOException {
    HttpRangeReader reader = new HttpRangeReader(new HttpEndpoint(uri, options));
    try {
      Retry retry = reader.endpoint.retry();
      reader.validators = reader.probe(retry);
      reader.length = reader.validators.length();
      retry.done();
      return reader;
    } catch (IOException | RuntimeException e) {
      reader.close();
      throw e;
    }
  }

  private Validators probe(Retry retry) throws IOException {
    boolean useHead = true;
    while (true) {
      Exchange x;
      try {
        x = useHead ? send("HEAD", null, null, null) : send("GET", "bytes=0-0", null, null);
      } catch (IOException e) {
        retry.failed(e, false);
        continue;
      }
      try (x) {
        int s = x.status();
        HttpHeaders h = x.headers();
        if (useHead) {
          long len = HttpEndpoint.contentLength(h);
          if (s == 200 && len >= 0) {
            String ranges = h.firstValue("Accept-Ranges").orElse("");
            if (ranges.trim().toLowerCase(Locale.ROOT).equals("none")) {
              throw endpoint.noRanges();
            }
            return HttpEndpoint.validators(h, len);
          }
          if (s == 404 || s == 410 || s == 401) {
            endpoint.checkStatus(s, h);
          }
          Retryable again =
              s == 429 || s == 408 || s >= 500 && s != 501 ? endpoint.checkStatus(s, h) : null;
          if (again != null) {
            retry.failed(again);
            continue;
          }
          // 403 (URLs signed for GET only), 405, 501, no length: ask with a GET instead.
          useHead = false;
          continue;
        }
        if (s == 206) {
          long[] cr = HttpEndpoint.contentRange(h);
          if (cr == null || cr[2] < 0) {
            throw new HttpSourceException(
                Kind.PROTOCOL,
                endpoint.display
                    + " answered a range request without the file's length (Content-Range)");
          }
          return HttpEndpoint.validators(h, cr[2]);
        }
        if (s == 416) {
          return HttpEndpoint.validators(h, 0); // an empty file
        }
        if (s == 200) {
          throw endpoint.noRanges();
        }
        Retryable again = endpoint.checkStatus(s, h);
        if (again == null) {
          throw endpoint.unexpected(s, "206 Partial Content");
        }
        retry.failed(again);
      }
    }
  }

  @Override
  public long size() {
    return length;
  }

  /** The URL without credentials. */
  @Override
  public String description() {
    return endpoint.display;
  }

  /** The URL (without credentials) this reader reads. */
  public URI uri() {
    return endpoint.uri;
  }

  /** The ETag the server gave at open, if any. */
  public java.util.Optional<String> etag() {
    return java.util.Optional.ofNullable(validators.etag());
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    if (position < 0 || position >= length || !dst.hasRemaining()) {
      return 0;
    }
    int limit = dst.limit();
    if (dst.remaining() > length - position) {
      dst.limit(dst.position() + (int) (length - position));
    }
    int n = dst.remaining();
    try {
      connections.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading " + endpoint.display);
    }
    try {
      fetch(dst, position);
    } finally {
      connections.release();
      dst.limit(limit);
    }
    return n;
  }

  /**
   * One ranged GET's answer, from java.net.http or from {@link FastHttp}: the status and headers
   * are read; the body is read by {@link #copy}.
   */
  private interface Exchange extends AutoCloseable {
    int status();

    HttpHeaders headers();

    /** What the watchdog closes when the body stalls. */
    Closeable body();

    /** Reads until dst is full or the body ends. */
    void copy(ByteBuffer dst, Watch watch) throws IOException;

    @Override
    void close() throws IOException;
  }

  private static final class JdkExchange implements Exchange {
    private final HttpResponse<InputStream> r;
    private byte[] scratch; // for a direct buffer; null for a heap one

    JdkExchange(HttpResponse<InputStream> r) {
      this.r = r;
    }

    @Override
    public int status() {
      return r.statusCode();
    }

    @Override
    public HttpHeaders headers() {
      return r.headers();
    }

    @Override
    public Closeable body() {
      return r.body();
    }

    @Override
    public void copy(ByteBuffer dst, Watch watch) throws IOException {
      HttpRangeReader.copy(r.body(), dst, scratch, watch);
    }

    @Override
    public void close() throws IOException {
      r.body().close();
    }
  }

  private static final class FastExchange implements Exchange {
    private final FastHttp.Response r;

    FastExchange(FastHttp.Response r) {
      this.r = r;
    }

    @Override
    public int status() {
      return r.status();
    }

    @Override
    public HttpHeaders headers() {
      return r.headers();
    }

    @Override
    public Closeable body() {
      return r.channel();
    }

    @Override
    public void copy(ByteBuffer dst, Watch watch) throws IOException {
      r.readInto(dst, watch);
    }

    @Override
    public void close() {
      r.close();
    }
  }

  /** Sends the ranged GET for bytes from-last, conditional on the validators. */
  private Exchange send(long from, long last, byte[][] scratch, ByteBuffer dst) throws IOException {
    String range = "bytes=" + from + "-" + last;
    Exchange x;
    if (validators.strongEtag() != null) {
      x = send("GET", range, "If-Match", validators.strongEtag());
    } else if (validators.lastModified() != null) {
      x = send("GET", range, "If-Unmodified-Since", validators.lastModified());
    } else {
      x = send("GET", range, null, null);
    }
    if (x instanceof JdkExchange j && !dst.hasArray()) {
      if (scratch[0] == null) {
        scratch[0] = new byte[Math.min(COPY, dst.remaining())];
      }
      j.scratch = scratch[0];
    }
    return x;
  }

  /**
   * Sends one request (GET or HEAD; range and validator may be null), on the fast path when it
   * applies.
   */
  private Exchange send(String method, String range, String vName, String vValue)
      throws IOException {
    FastHttp f = fast;
    if (f != null && !fastRefused) {
      FastHttp.Response r = method.equals("HEAD") ? f.head() : f.get(range, vName, vValue);
      endpoint.answered();
      if (!r.unsupported()) {
        return new FastExchange(r);
      }
      // A redirect or a chunked body: java.net.http handles those, from now on.
      r.close();
      fastRefused = true;
    }
    HttpRequest.Builder b = endpoint.request();
    if (method.equals("HEAD")) {
      b.method("HEAD", HttpRequest.BodyPublishers.noBody());
    } else {
      b.GET();
    }
    if (range != null) {
      b.header("Range", range);
    }
    if (vName != null) {
      b.header(vName, vValue);
    }
    return new JdkExchange(endpoint.send(b.build()));
  }

  /** Reads exactly dst's remaining bytes, which the file holds, retrying as the options allow. */
  private void fetch(ByteBuffer dst, long position) throws IOException {
    int start = dst.position();
    long last = position + dst.remaining() - 1;
    Retry retry = endpoint.retry();
    byte[][] scratch = {null}; // for java.net.http into a direct buffer; made on first use
    while (dst.hasRemaining()) {
      long from = position + (dst.position() - start);
      Exchange x;
      try {
        x = send(from, last, scratch, dst);
      } catch (IOException e) {
        retry.failed(e, true);
        continue;
      }
      try (x) {
        int s = x.status();
        HttpHeaders h = x.headers();
        if (s == 206) {
          long[] cr = HttpEndpoint.contentRange(h);
          Validators now = HttpEndpoint.validators(h, cr == null ? -1 : cr[2]);
          if (validators.differs(now)) {
            throw endpoint.changed(validators, now);
          }
          if (cr == null || cr[0] != from || cr[1] < from) {
            throw new HttpSourceException(
                Kind.PROTOCOL,
                endpoint.display
                    + " answered a request for bytes "
                    + from
                    + "-"
                    + last
                    + " with "
                    + h.firstValue("Content-Range").orElse("no Content-Range")
                    + " (several ranges or a proxy that rewrites them are not supported)");
          }
        } else if (s == 200) {
          Validators now = HttpEndpoint.validators(h, HttpEndpoint.contentLength(h));
          if (validators.differs(now)) {
            throw endpoint.changed(validators, now);
          }
          if (from != 0) {
            throw endpoint.noRanges();
          }
          // A 200 for a range starting at 0 delivers the same first bytes: take what we need.
        } else if (s == 412 || s == 416) {
          throw endpoint.changed(validators, currentValidators());
        } else {
          Retryable again = endpoint.checkStatus(s, h);
          if (again == null) {
            throw endpoint.unexpected(s, "206 Partial Content");
          }
          retry.failed(again);
          continue;
        }
        try (Watch watch = endpoint.watch(x.body(), retry)) {
          try {
            x.copy(dst, watch);
          } catch (IOException e) {
            retry.failed(watch.fired() ? stalled() : e, true);
            continue;
          }
          if (dst.hasRemaining()) {
            long got = dst.position() - start;
            retry.failed(
                watch.fired()
                    ? "no data for " + HttpEndpoint.seconds(endpoint.options.requestTimeout())
                    : "the connection closed after "
                        + got
                        + " of "
                        + (last - position + 1)
                        + " bytes",
                java.util.Optional.empty(),
                false,
                null);
          }
        }
      }
    }
    retry.done();
  }

  private IOException stalled() {
    return new IOException(
        "no data for " + HttpEndpoint.seconds(endpoint.options.requestTimeout()));
  }

  /** Reads until dst is full or the body ends. */
  private static void copy(InputStream body, ByteBuffer dst, byte[] scratch, Watch watch)
      throws IOException {
    while (dst.hasRemaining()) {
      int k;
      if (scratch == null) {
        k = body.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
        if (k > 0) {
          dst.position(dst.position() + k);
        }
      } else {
        k = body.read(scratch, 0, Math.min(scratch.length, dst.remaining()));
        if (k > 0) {
          dst.put(scratch, 0, k);
        }
      }
      if (k < 0) {
        return;
      }
      watch.progress(k);
    }
    // Reading to the end of the body lets the client keep the connection for the next range;
    // closing a body it hasn't seen end makes it close the connection.
    body.read();
  }

  /** The server's validators now, for the message; null when they can't be learnt. */
  private Validators currentValidators() {
    try (Exchange x = send("HEAD", null, null, null)) {
      if (x.status() == 200) {
        return HttpEndpoint.validators(x.headers(), HttpEndpoint.contentLength(x.headers()));
      }
    } catch (IOException e) {
      // the message does without
    }
    return null;
  }

  @Override
  public void close() {
    if (fast != null) {
      fast.close();
    }
    endpoint.close();
  }
}
