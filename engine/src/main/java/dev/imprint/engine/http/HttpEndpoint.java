package dev.imprint.engine.http;

import dev.imprint.engine.http.HttpSourceException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * One URL on one server: the client, the request headers every request carries, and the rules
 * shared by {@link HttpRangeReader} and {@link HttpStream} for statuses, errors and retries.
 * Thread-safe.
 */
final class HttpEndpoint implements AutoCloseable {
  /** Closes bodies that stall; one daemon thread for the whole process. */
  private static final ScheduledExecutorService WATCHDOG =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "imprint-http-watchdog");
            t.setDaemon(true);
            return t;
          });

  final URI uri; // without user info
  final String display;
  final HttpOptions options;
  private final HttpClient client;
  private final List<String[]> headers;

  HttpEndpoint(URI typed, HttpOptions options) throws IOException {
    if (!HttpUrls.isHttpUrl(typed.toString()) || typed.getHost() == null) {
      throw new HttpSourceException(
          Kind.PROTOCOL,
          "invalid URL " + HttpUrls.display(typed) + ": expected http://HOST/PATH or https://...");
    }
    this.uri = HttpUrls.withoutUserInfo(typed);
    this.display = uri.toString();
    this.options = options;
    this.client = HttpClients.build(options);
    List<String[]> h = new java.util.ArrayList<>();
    for (String s : options.headers()) {
      h.add(HttpClients.parseHeader(s));
    }
    String userInfo = typed.getRawUserInfo();
    boolean hasAuthorization = h.stream().anyMatch(x -> x[0].equalsIgnoreCase("Authorization"));
    if (userInfo != null && !hasAuthorization) {
      String decoded = URLDecoder.decode(userInfo.replace("+", "%2B"), StandardCharsets.UTF_8);
      h.add(
          new String[] {
            "Authorization",
            "Basic " + Base64.getEncoder().encodeToString(decoded.getBytes(StandardCharsets.UTF_8))
          });
    }
    this.headers = List.copyOf(h);
  }

  String hostPort() {
    return HttpUrls.hostPort(uri);
  }

  /**
   * The headers {@link #request()} sets, in order, each name once: User-Agent, Accept-Encoding,
   * then the user's (--header, Basic auth) replacing those of the same name.
   */
  List<String[]> requestHeaders() {
    List<String[]> all = new java.util.ArrayList<>();
    all.add(new String[] {"User-Agent", "imprint"});
    all.add(new String[] {"Accept-Encoding", "identity"});
    for (String[] h : headers) {
      all.removeIf(x -> x[0].equalsIgnoreCase(h[0]));
      all.add(h);
    }
    return List.copyOf(all);
  }

  HttpRequest.Builder request() {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(options.requestTimeout())
            .header("User-Agent", "imprint")
            .header("Accept-Encoding", "identity");
    for (String[] h : headers) {
      b.setHeader(h[0], h[1]);
    }
    return b;
  }

  HttpResponse<InputStream> send(HttpRequest request) throws IOException {
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading " + display);
    }
  }

  /** The TLS context of the client: its trust (system, --cacert, --insecure). */
  javax.net.ssl.SSLContext sslContext() {
    return client.sslContext();
  }

  HttpResponse<Void> head() throws IOException {
    try {
      return client.send(
          request().method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.discarding());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading " + display);
    }
  }

  @Override
  public void close() {
    // java.net.http.HttpClient has no close() before Java 21; its threads end when it is collected.
  }

  // ---------------------------------------------------------------- statuses

  /**
   * Throws for statuses the user must fix (404, 401, 403) and returns a retryable failure for 429
   * and 5xx; null for anything else (the caller decides).
   */
  Retryable checkStatus(HttpResponse<?> r) throws HttpSourceException {
    return checkStatus(r.statusCode(), r.headers());
  }

  Retryable checkStatus(int s, HttpHeaders headers) throws HttpSourceException {
    if (s == 404 || s == 410) {
      throw new HttpSourceException(
          Kind.NOT_FOUND, display + " not found (HTTP " + s + "): check the address");
    }
    if (s == 401 || s == 403) {
      throw new HttpSourceException(
          Kind.ACCESS_DENIED,
          "access denied to "
              + display
              + " (HTTP "
              + s
              + "): check credentials (--header or user:pass@ in the URL)");
    }
    if (s == 429 || s == 408 || s >= 500) {
      return new Retryable("HTTP " + s + " from " + hostPort(), retryAfter(headers));
    }
    return null;
  }

  HttpSourceException unexpected(HttpResponse<?> r, String expected) {
    return unexpected(r.statusCode(), expected);
  }

  HttpSourceException unexpected(int status, String expected) {
    return new HttpSourceException(
        Kind.PROTOCOL,
        "unexpected answer HTTP " + status + " from " + display + " (expected " + expected + ")");
  }

  HttpSourceException noRanges() {
    return new HttpSourceException(
        Kind.NO_RANGES,
        "server "
            + hostPort()
            + " does not support range requests ("
            + display
            + "); Imprint images need them — or restore a raw image over HTTP");
  }

  static Optional<Duration> retryAfter(HttpHeaders h) {
    Optional<String> v = h.firstValue("Retry-After");
    if (v.isEmpty()) {
      return Optional.empty();
    }
    String s = v.get().trim();
    try {
      return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(s))));
    } catch (NumberFormatException e) {
      try {
        ZonedDateTime at = ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME);
        Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
      } catch (DateTimeParseException e2) {
        return Optional.empty();
      }
    }
  }

  /** A failure worth another attempt: a short description, and the server's Retry-After. */
  record Retryable(String description, Optional<Duration> retryAfter) {}

  // ---------------------------------------------------------------- errors

  /** Throws the one-line error for failures that retrying cannot fix (TLS, unknown host). */
  void throwIfFatal(IOException e, boolean hostKnownGood) throws IOException {
    if (e instanceof HttpSourceException
        || e instanceof InterruptedIOException
            && !(e instanceof HttpTimeoutException)
            && !(e instanceof java.net.SocketTimeoutException)) {
      throw e;
    }
    if (!hostKnownGood && unresolved(e)) {
      throw new HttpSourceException(
          Kind.UNKNOWN_HOST,
          "cannot resolve host " + uri.getHost() + ": check the address or DNS (" + display + ")",
          e);
    }
    SSLException ssl = find(e, SSLException.class);
    if (ssl != null) {
      if (find(e, CertificateException.class) != null
          || find(e, java.security.cert.CertPathValidatorException.class) != null
          || String.valueOf(ssl.getMessage()).contains("PKIX")) {
        throw new HttpSourceException(
            Kind.TLS,
            "the TLS certificate of "
                + uri.getHost()
                + " could not be verified ("
                + rootMessage(e)
                + "): pass the issuing CA with --cacert FILE (or --insecure to skip checks, not"
                + " recommended)",
            e);
      }
      if (ssl instanceof SSLHandshakeException) {
        throw new HttpSourceException(
            Kind.TLS, "the TLS handshake with " + hostPort() + " failed: " + rootMessage(e), e);
      }
    }
  }

  static boolean unresolved(Throwable e) {
    return find(e, UnresolvedAddressException.class) != null
        || find(e, UnknownHostException.class) != null;
  }

  static boolean connectFailure(Throwable e) {
    return find(e, ConnectException.class) != null
        || find(e, HttpConnectTimeoutException.class) != null;
  }

  static <T extends Throwable> T find(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    String best = null;
    while (t != null) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        best = t.getMessage();
      }
      if (t.getCause() == t) {
        break;
      }
      t = t.getCause();
    }
    return best != null ? best : e.getClass().getSimpleName();
  }

  /** A short description of a retryable exception. */
  String describe(IOException e) {
    if (find(e, HttpConnectTimeoutException.class) != null) {
      return "connection timed out";
    }
    if (find(e, ConnectException.class) != null) {
      String m = rootMessage(e);
      return m.equals("ConnectException") || m.contains("ClosedChannel") ? "connection refused" : m;
    }
    if (unresolved(e)) {
      return "cannot resolve host " + uri.getHost();
    }
    if (e instanceof HttpTimeoutException || find(e, HttpTimeoutException.class) != null) {
      return "no answer within " + seconds(options.requestTimeout());
    }
    return rootMessage(e);
  }

  static String seconds(Duration d) {
    long ms = d.toMillis();
    if (ms < 60_000) {
      return ms % 1000 == 0 ? ms / 1000 + " s" : String.format("%.1f s", ms / 1000.0);
    }
    long s = (ms + 500) / 1000;
    return s / 60 + " min " + (s % 60 == 0 ? "" : s % 60 + " s").trim();
  }

  // ---------------------------------------------------------------- retries

  Retry retry() {
    return new Retry();
  }

  /**
   * The retry state of one operation: the budget clock starts at the first failure and is reset by
   * progress (bytes received), as is the backoff.
   */
  final class Retry {
    private long failingSinceNanos = -1;
    private Duration backoff = HttpOptions.FIRST_BACKOFF;
    private int attempts;

    void progress() {
      failingSinceNanos = -1;
      backoff = HttpOptions.FIRST_BACKOFF;
    }

    void failed(IOException e, boolean hostKnownGood) throws IOException {
      throwIfFatal(e, hostKnownGood);
      failed(describe(e), Optional.empty(), connectFailure(e), e);
    }

    void failed(Retryable r) throws IOException {
      failed(r.description(), r.retryAfter(), false, null);
    }

    void failed(String description, Optional<Duration> retryAfter, boolean connect, Throwable cause)
        throws IOException {
      long now = System.nanoTime();
      if (failingSinceNanos < 0) {
        failingSinceNanos = now;
      }
      attempts++;
      Duration wait = retryAfter.orElse(backoff);
      backoff = backoff.multipliedBy(2);
      if (backoff.compareTo(HttpOptions.MAX_BACKOFF) > 0) {
        backoff = HttpOptions.MAX_BACKOFF;
      }
      long deadline = failingSinceNanos + options.retryBudget().toNanos();
      if (now + wait.toNanos() > deadline) {
        Duration tried = Duration.ofNanos(now - failingSinceNanos);
        String msg =
            connect
                ? "cannot connect to "
                    + hostPort()
                    + " for "
                    + display
                    + ": "
                    + description
                    + " (tried "
                    + attempts
                    + " times over "
                    + seconds(tried)
                    + ")"
                : "gave up reading "
                    + display
                    + " after "
                    + attempts
                    + " attempts over "
                    + seconds(tried)
                    + ": last error: "
                    + description;
        throw new HttpSourceException(connect ? Kind.CANNOT_CONNECT : Kind.GAVE_UP, msg, cause);
      }
      try {
        Thread.sleep(wait.toMillis());
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting to retry " + display);
      }
    }
  }

  // ---------------------------------------------------------------- stalls

  /** Closes {@code body} when no byte has arrived for the request timeout. */
  Watch watch(java.io.Closeable body) {
    return new Watch(body, options.requestTimeout().toNanos());
  }

  static final class Watch implements AutoCloseable {
    private final java.io.Closeable body;
    private final long timeoutNanos;
    private volatile long lastNanos = System.nanoTime();
    private volatile boolean fired;
    private volatile boolean closed;
    private ScheduledFuture<?> next;

    Watch(java.io.Closeable body, long timeoutNanos) {
      this.body = body;
      this.timeoutNanos = timeoutNanos;
      schedule(timeoutNanos);
    }

    private synchronized void schedule(long delayNanos) {
      if (!closed) {
        next = WATCHDOG.schedule(this::check, delayNanos, TimeUnit.NANOSECONDS);
      }
    }

    private void check() {
      long idle = System.nanoTime() - lastNanos;
      if (closed) {
        return;
      }
      if (idle >= timeoutNanos) {
        fired = true;
        try {
          body.close();
        } catch (IOException | RuntimeException ignored) {
          // the reader sees the stream end or fail, and retries
        }
      } else {
        schedule(timeoutNanos - idle);
      }
    }

    void progress() {
      lastNanos = System.nanoTime();
    }

    boolean fired() {
      return fired;
    }

    @Override
    public synchronized void close() {
      closed = true;
      if (next != null) {
        next.cancel(false);
      }
    }
  }

  // ---------------------------------------------------------------- validators

  static Validators validators(HttpHeaders h, long length) {
    return new Validators(
        h.firstValue("ETag").orElse(null), h.firstValue("Last-Modified").orElse(null), length);
  }

  /** Content-Range "bytes a-b/total": {a, b, total}, total -1 when "*"; null if absent or bad. */
  static long[] contentRange(HttpHeaders h) {
    Optional<String> v = h.firstValue("Content-Range");
    if (v.isEmpty()) {
      return null;
    }
    String s = v.get().trim();
    if (!s.regionMatches(true, 0, "bytes ", 0, 6)) {
      return null;
    }
    try {
      s = s.substring(6).trim();
      int slash = s.indexOf('/');
      String range = s.substring(0, slash);
      String total = s.substring(slash + 1);
      long t = total.equals("*") ? -1 : Long.parseLong(total);
      if (range.equals("*")) {
        return new long[] {-1, -1, t};
      }
      int dash = range.indexOf('-');
      return new long[] {
        Long.parseLong(range.substring(0, dash)), Long.parseLong(range.substring(dash + 1)), t
      };
    } catch (RuntimeException e) {
      return null;
    }
  }

  static long contentLength(HttpHeaders h) {
    return h.firstValueAsLong("Content-Length").orElse(-1);
  }

  ImageChangedException changed(Validators before, Validators after) {
    return new ImageChangedException(
        "the image at "
            + display
            + " changed while it was being restored ("
            + before.difference(after)
            + "): stopped so two images never mix on one disk; start again");
  }
}
