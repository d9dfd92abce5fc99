package dev.imprint.engine.http;

import dev.imprint.engine.http.HttpEndpoint.Retry;
import dev.imprint.engine.http.HttpEndpoint.Retryable;
import dev.imprint.engine.http.HttpEndpoint.Watch;
import dev.imprint.engine.http.HttpSourceException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * A file on an HTTP(S) server read front to back (raw or compressed raw images): one GET whose body
 * streams in. When the connection breaks, the stream reconnects asking for the rest ({@code Range:
 * bytes=N-} with {@code If-Range}), so the caller never sees the break. A server that answers 200
 * instead (no range support) is read again from the start and the bytes already delivered are
 * skipped, with a warning; a file that changed meanwhile ends the stream with {@link
 * ImageChangedException}. Retries follow {@link HttpOptions#retryBudget()}, counted only while the
 * caller waits in {@code read} (time it spends with the bytes elsewhere is not the server's);
 * outages are told to {@link HttpOptions#notices()}.
 *
 * <p>Not thread-safe (an InputStream): one reader.
 */
public final class HttpStream extends InputStream {
  private static final int SKIP_BUFFER = 64 << 10;

  private final HttpEndpoint endpoint;
  private final Consumer<String> warnings;
  private Validators validators; // of the first response
  private long delivered;
  private boolean ended; // the body was read to its end
  private InputStream body;
  private Watch watch;
  private boolean closed;
  private Retry retry;

  private HttpStream(HttpEndpoint endpoint, Consumer<String> warnings) {
    this.endpoint = endpoint;
    this.warnings = warnings;
  }

  /** {@link #open(URI, HttpOptions, Consumer)} with warnings told to the options' notices. */
  public static HttpStream open(URI uri, HttpOptions options) throws IOException {
    return open(uri, options, options.notices());
  }

  /**
   * Starts the GET and returns once the response headers arrived.
   *
   * @param warnings receives one line for each event the user should know about (a restart from
   *     zero); outages and slowness go to {@link HttpOptions#notices()}
   * @throws HttpSourceException not found, access denied, unknown host, cannot connect, TLS
   */
  public static HttpStream open(URI uri, HttpOptions options, Consumer<String> warnings)
      throws IOException {
    HttpStream s = new HttpStream(new HttpEndpoint(uri, options), warnings);
    s.retry = s.endpoint.retry();
    s.connect();
    s.retry.leave(); // until the first read, the time is the caller's
    return s;
  }

  /** The file's length, when the server said (Content-Length of the first answer). */
  public OptionalLong length() {
    return validators.length() >= 0 ? OptionalLong.of(validators.length()) : OptionalLong.empty();
  }

  /** The URL without credentials. */
  public String description() {
    return endpoint.display;
  }

  /** Bytes delivered to the caller so far. */
  public long position() {
    return delivered;
  }

  private void connect() throws IOException {
    while (true) {
      HttpRequest.Builder b = endpoint.request().GET();
      if (delivered > 0) {
        b.header("Range", "bytes=" + delivered + "-");
        String v =
            validators.strongEtag() != null ? validators.strongEtag() : validators.lastModified();
        if (v != null) {
          b.header("If-Range", v);
        }
      }
      HttpResponse<InputStream> r;
      try {
        r = endpoint.send(b.build());
      } catch (IOException e) {
        retry.failed(e, validators != null);
        continue;
      }
      int s = r.statusCode();
      if (s == 200) {
        Validators now =
            HttpEndpoint.validators(r.headers(), HttpEndpoint.contentLength(r.headers()));
        if (validators == null) {
          validators = now;
          attach(r.body());
          retry.done(); // reached: an outage at first contact is over
          return;
        }
        if (validators.differs(now)) {
          r.body().close();
          throw endpoint.changed(validators, now);
        }
        if (delivered == 0) {
          attach(r.body());
          return;
        }
        warnings.accept(
            "server "
                + endpoint.hostPort()
                + " does not support ranges: restarting from zero (skipping the "
                + delivered
                + " bytes already read of "
                + endpoint.display
                + ")");
        if (skip(r.body())) {
          return;
        }
        continue;
      }
      if (s == 206 && validators != null) {
        long[] cr = HttpEndpoint.contentRange(r.headers());
        Validators now = HttpEndpoint.validators(r.headers(), cr == null ? -1 : cr[2]);
        if (validators.differs(now)) {
          r.body().close();
          throw endpoint.changed(validators, now);
        }
        if (cr == null || cr[0] != delivered) {
          r.body().close();
          throw new HttpSourceException(
              Kind.PROTOCOL,
              endpoint.display
                  + " answered a request for bytes "
                  + delivered
                  + "- with "
                  + r.headers().firstValue("Content-Range").orElse("no Content-Range"));
        }
        attach(r.body());
        return;
      }
      r.body().close();
      if ((s == 412 || s == 416) && validators != null) {
        throw endpoint.changed(validators, null);
      }
      Retryable again = endpoint.checkStatus(r);
      if (again == null) {
        throw endpoint.unexpected(r, delivered == 0 ? "200 OK" : "206 Partial Content");
      }
      retry.failed(again);
    }
  }

  private void attach(InputStream in) {
    body = in;
    watch = endpoint.watch(in, retry);
  }

  /** Reads and drops {@code delivered} bytes of a body that starts at 0; false if it broke. */
  private boolean skip(InputStream in) throws IOException {
    attach(in);
    byte[] buf = new byte[SKIP_BUFFER];
    long left = delivered;
    try {
      while (left > 0) {
        int k = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (k < 0) {
          throw new IOException("the connection closed while skipping to byte " + delivered);
        }
        left -= k;
        watch.progress(k);
      }
      return true;
    } catch (IOException e) {
      broke(e);
      return false;
    }
  }

  /**
   * The body broke mid-read: drop the connection and count a retry (naming a stall when the
   * watchdog cut it), unless the stream was closed under the read, which is the caller's error.
   */
  private void broke(IOException e) throws IOException {
    boolean fired = watch.fired();
    detach();
    if (closed) {
      throw e;
    }
    if (!fired && HttpEndpoint.find(e, java.io.EOFException.class) != null) {
      retry.failed(closedAfter(), Optional.empty(), false, e);
      return;
    }
    retry.failed(fired ? stalled() : e, true);
  }

  private String closedAfter() {
    long expected = validators.length();
    return "the connection closed after "
        + delivered
        + (expected >= 0 ? " of " + expected : "")
        + " bytes";
  }

  private void detach() {
    if (watch != null) {
      watch.close();
      watch = null;
    }
    if (body != null) {
      try {
        body.close();
      } catch (IOException ignored) {
        // broken already
      }
      body = null;
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int k = read(one, 0, 1);
    return k < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (closed) {
      throw new IOException("stream from " + endpoint.display + " is closed");
    }
    if (len == 0) {
      return 0;
    }
    retry.enter();
    if (watch != null) {
      watch.progress(0); // the time away was the caller's, not a stall
    }
    try {
      return readBody(b, off, len);
    } finally {
      retry.leave();
    }
  }

  private int readBody(byte[] b, int off, int len) throws IOException {
    if (ended) {
      return -1; // read again at the end: no request for bytes past it
    }
    while (true) {
      if (body == null) {
        connect();
        continue;
      }
      int k;
      try {
        k = body.read(b, off, len);
      } catch (IOException e) {
        broke(e);
        continue;
      }
      if (k > 0) {
        watch.progress(k);
        delivered += k;
        return k;
      }
      if (k < 0) {
        long expected = validators.length();
        if (expected >= 0 && delivered < expected) {
          boolean fired = watch.fired();
          detach();
          retry.failed(
              fired
                  ? "no data for " + HttpEndpoint.seconds(endpoint.options.requestTimeout())
                  : closedAfter(),
              Optional.empty(),
              false,
              null);
          continue;
        }
        detach();
        retry.done();
        ended = true;
        return -1;
      }
    }
  }

  private IOException stalled() {
    return new IOException(
        "no data for " + HttpEndpoint.seconds(endpoint.options.requestTimeout()));
  }

  @Override
  public void close() {
    closed = true;
    detach();
  }
}
