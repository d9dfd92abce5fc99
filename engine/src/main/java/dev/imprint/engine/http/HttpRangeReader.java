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
  private final Validators validators;
  private final long length;
  private final Semaphore connections;
  private final FastHttp fast; // null when java.net.http does every request
  private volatile boolean fastRefused; // the server redirects or sends chunked bodies

  private HttpRangeReader(HttpEndpoint endpoint, Validators validators) {
    this.endpoint = endpoint;
    this.validators = validators;
    this.length = validators.length();
    this.connections = new Semaphore(endpoint.options.connections(), true);
    this.fast =
        FastHttp.forUri(
            endpoint.uri, endpoint.options, endpoint.requestHeaders(), endpoint.sslContext());
  }

  /**
   * Learns the file's length and validators with a HEAD request (or a GET of byte 0 when HEAD is
   * refused or gives no length).
   *
   * @throws HttpSourceException with a one-line message: not found, access denied, unknown host,
   *     cannot connect, TLS, no range support
   */
  /**
   * Starts setting up what {@link #open} with these very options will need (the HTTP client, the
   * trust store) on another thread, so that it overlaps the caller's own start-up.
   */
  public static void prepare(HttpOptions options) {
    HttpClients.prepare(options);
  }

  public static HttpRangeReader open(URI uri, HttpOptions options) throws IOException {
    HttpEndpoint endpoint = new HttpEndpoint(uri, options);
    Retry retry = endpoint.retry();
    Validators v = probe(endpoint, retry);
    retry.done();
    return new HttpRangeReader(endpoint, v);
  }

  private static Validators probe(HttpEndpoint ep, Retry retry) throws IOException {
    boolean useHead = true;
    while (true) {
      if (useHead) {
        HttpResponse<Void> r;
        try {
          r = ep.head();
        } catch (IOException e) {
          retry.failed(e, false);
          continue;
        }
        int s = r.statusCode();
        long len = HttpEndpoint.contentLength(r.headers());
        if (s == 200 && len >= 0) {
          String ranges = r.headers().firstValue("Accept-Ranges").orElse("");
          if (ranges.trim().toLowerCase(Locale.ROOT).equals("none")) {
            throw ep.noRanges();
          }
          return HttpEndpoint.validators(r.headers(), len);
        }
        if (s == 404 || s == 410 || s == 401) {
          ep.checkStatus(r);
        }
        Retryable again = s == 429 || s == 408 || s >= 500 && s != 501 ? ep.checkStatus(r) : null;
        if (again != null) {
          retry.failed(again);
          continue;
        }
        // 403 (URLs signed for GET only), 405, 501, no length: ask with a GET instead.
        useHead = false;
      }
      HttpRequest req = ep.request().GET().header("Range", "bytes=0-0").build();
      HttpResponse<InputStream> r;
      try {
        r = ep.send(req);
      } catch (IOException e) {
        retry.failed(e, false);
        continue;
      }
      try (InputStream body = r.body()) {
        int s = r.statusCode();
        if (s == 206) {
          long[] cr = HttpEndpoint.contentRange(r.headers());
          if (cr == null || cr[2] < 0) {
            throw new HttpSourceException(
                Kind.PROTOCOL,
                ep.display + " answered a range request without the file's length (Content-Range)");
          }
          return HttpEndpoint.validators(r.headers(), cr[2]);
        }
        if (s == 416) {
          return HttpEndpoint.validators(r.headers(), 0); // an empty file
        }
        if (s == 200) {
          throw ep.noRanges();
        }
        Retryable again = ep.checkStatus(r);
        if (again == null) {
          throw ep.unexpected(r, "206 Partial Content");
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
    private final byte[] scratch;

    JdkExchange(HttpResponse<InputStream> r, byte[] scratch) {
      this.r = r;
      this.scratch = scratch;
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

  /** Sends the ranged GET for bytes from-last, on the fast path when it applies. */
  private Exchange send(long from, long last, byte[][] scratch, ByteBuffer dst) throws IOException {
    String range = "bytes=" + from + "-" + last;
    String vName = null;
    String vValue = null;
    if (validators.strongEtag() != null) {
      vName = "If-Match";
      vValue = validators.strongEtag();
    } else if (validators.lastModified() != null) {
      vName = "If-Unmodified-Since";
      vValue = validators.lastModified();
    }
    FastHttp f = fast;
    if (f != null && !fastRefused) {
      FastHttp.Response r = f.get(range, vName, vValue);
      endpoint.answered();
      if (!r.unsupported()) {
        return new FastExchange(r);
      }
      // A redirect or a chunked body: java.net.http handles those, from now on.
      r.close();
      fastRefused = true;
    }
    HttpRequest.Builder b = endpoint.request().GET().header("Range", range);
    if (vName != null) {
      b.header(vName, vValue);
    }
    HttpResponse<InputStream> r = endpoint.send(b.build());
    if (scratch[0] == null && !dst.hasArray()) {
      scratch[0] = new byte[Math.min(COPY, dst.remaining())];
    }
    return new JdkExchange(r, scratch[0]);
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
    try {
      HttpResponse<Void> r = endpoint.head();
      if (r.statusCode() == 200) {
        return HttpEndpoint.validators(r.headers(), HttpEndpoint.contentLength(r.headers()));
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
