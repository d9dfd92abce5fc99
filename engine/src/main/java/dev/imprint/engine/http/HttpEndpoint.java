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
  private final List<String[]> headers;
  // Built on first use: plain http:// from a server that neither redirects nor chunks never needs
  // them (FastHttp does its requests), and java.net.http's selector thread, blocked in epoll,
  // makes the JVM wait ~300 ms at exit for it.
  private HttpClient client; // guarded by this
  private javax.net.ssl.SSLContext tls; // guarded by this

  HttpEndpoint(URI typed, HttpOptions options) throws IOException {
    if (!HttpUrls.isHttpUrl(typed.toString()) || typed.getHost() == null) {
      throw new HttpSourceException(
          Kind.PROTOCOL,
          "invalid URL " + HttpUrls.display(typed) + ": expected http://HOST/PATH or https://...");
    }
    this.uri = HttpUrls.withoutUserInfo(typed);
    this.display = uri.toString();
    this.options = options;
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
      HttpResponse<InputStream> r =
          client().send(request, HttpResponse.BodyHandlers.ofInputStream());
      answered();
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading " + display);
    }
  }

  /** The TLS context: the options' trust (system, --cacert, --insecure). */
  synchronized javax.net.ssl.SSLContext sslContext() throws IOException {
    if (tls == null) {
      tls = HttpClients.tls(options);
    }
    return tls;
  }

  /** java.net.http's client, for what {@link FastHttp} does not do. */
  private synchronized HttpClient client() throws IOException {
    if (client == null) {
      client = HttpClients.build(options, sslContext());
    }
    return client;
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
    return s / 60 + " min" + (s % 60 == 0 ? "" : " " + s % 60 + " s");
  }

  // ---------------------------------------------------------------- notices

  private final Object noticeLock = new Object();
  private volatile boolean reached; // an HTTP answer came back at least once
  private boolean outage; // announced, not yet over
  private boolean outageAtFirstContact;
  private long outageSinceNanos;
  private boolean slowNoticed;

  /** An HTTP answer arrived: the server exists, from now on the full retry budget applies. */
  void answered() {
    reached = true;
  }

  boolean reached() {
    return reached;
  }

  private void notice(String line) {
    try {
      options.notices().accept(line);
    } catch (RuntimeException ignored) {
      // a listener's failure must not fail the read
    }
  }

  /** The first failure of an outage is announced, the others are not. */
  private void outageBegins(String description, boolean firstContact, long leftNanos) {
    synchronized (noticeLock) {
      if (outage) {
        return;
      }
      outage = true;
      outageAtFirstContact = firstContact;
      outageSinceNanos = System.nanoTime();
    }
    notice(
        firstContact
            ? "cannot reach "
                + hostPort()
                + " ("
                + description
                + "): check the URL and that the server is running; retrying for "
                + wholeSeconds(leftNanos)
            : "reading "
                + display
                + " failed ("
                + description
                + "): retrying for up to "
                + wholeSeconds(leftNanos));
  }

  /** A read succeeded or is back at a useful rate: the outage, if one was announced, is over. */
  private void recovered() {
    long since;
    boolean first;
    synchronized (noticeLock) {
      slowNoticed = false;
      if (!outage) {
        return;
      }
      outage = false;
      first = outageAtFirstContact;
      since = System.nanoTime() - outageSinceNanos;
    }
    notice(
        (first ? "reached " : "reconnected to ")
            + hostPort()
            + " after "
            + seconds(Duration.ofMillis(Math.max(1, since / 1_000_000))));
  }

  /** Bytes arrive, but too slowly to count: said once until the rate is useful again. */
  private void slow(long bytesPerSecond, long leftNanos) {
    synchronized (noticeLock) {
      if (slowNoticed) {
        return;
      }
      slowNoticed = true;
    }
    notice(
        "server "
            + hostPort()
            + " sends "
            + rate(bytesPerSecond)
            + ", below "
            + rate(options.minRate())
            + " for "
            + seconds(options.rateWindow())
            + ": giving up in "
            + wholeSeconds(leftNanos));
  }

  /** "12 B/s", "3.5 KiB/s", "64 KiB/s", "2.0 MiB/s". */
  static String rate(long bytesPerSecond) {
    if (bytesPerSecond < 1024) {
      return bytesPerSecond + " B/s";
    }
    if (bytesPerSecond < 1 << 20) {
      return bytesPerSecond % 1024 == 0
          ? bytesPerSecond / 1024 + " KiB/s"
          : String.format(java.util.Locale.ROOT, "%.1f KiB/s", bytesPerSecond / 1024.0);
    }
    return String.format(java.util.Locale.ROOT, "%.1f MiB/s", bytesPerSecond / 1048576.0);
  }

  private static String wholeSeconds(long nanos) {
    return seconds(Duration.ofSeconds(Math.max(0, (nanos + 500_000_000L) / 1_000_000_000L)));
  }

  // ---------------------------------------------------------------- retries

  Retry retry() {
    return new Retry();
  }

  /**
   * The retry state of one operation (one range read, or one stream). Useful progress is at least
   * {@link HttpOptions#minRate()} over {@link HttpOptions#rateWindow()}; the budget ({@link
   * HttpOptions#retryBudget()}, or the first contact's before the server ever answered) counts from
   * the last moment of useful progress, or the operation's start, so failures, stalls and trickles
   * alike end when it runs out. Any byte resets the backoff. Thread-safe: the watchdog asks it.
   */
  final class Retry {
    private static final int BUCKETS = 10;
    private final long windowNanos = options.rateWindow().toNanos();
    private final long bucketNanos = Math.max(1, windowNanos / BUCKETS);
    private final long need = (long) (options.minRate() * (windowNanos / 1e9));
    private final long[] ring = new long[BUCKETS];
    private final long originNanos = System.nanoTime();
    private long ringAt; // the bucket (counted from origin) ring's newest slot holds
    private long inWindow; // bytes in the ring
    private long usefulAtNanos = originNanos;
    private long sinceUseful; // bytes since usefulAtNanos
    private long failingSinceNanos = -1;
    private Duration backoff = HttpOptions.FIRST_BACKOFF;
    private int attempts;
    private boolean troubled; // a failure or slowness seen: its end is announced
    private boolean waiting = true; // the caller waits on the server (not off consuming bytes)
    private long leftAtNanos;

    private void roll(long now) {
      long b = (now - originNanos) / bucketNanos;
      if (b - ringAt >= BUCKETS) {
        java.util.Arrays.fill(ring, 0);
        inWindow = 0;
      } else {
        for (long i = ringAt + 1; i <= b; i++) {
          int k = (int) (i % BUCKETS);
          inWindow -= ring[k];
          ring[k] = 0;
        }
      }
      ringAt = Math.max(ringAt, b);
    }

    /** Body bytes arrived. */
    void received(long n) {
      boolean recovered = false;
      synchronized (this) {
        long now = System.nanoTime();
        roll(now);
        ring[(int) (ringAt % BUCKETS)] += n;
        inWindow += n;
        sinceUseful += n;
        backoff = HttpOptions.FIRST_BACKOFF;
        if (inWindow >= need) {
          usefulAtNanos = now;
          sinceUseful = 0;
          failingSinceNanos = -1;
          attempts = 0;
          recovered = troubled;
          troubled = false;
        }
      }
      if (recovered) {
        recovered();
      }
    }

    /** The operation got what it asked for (or the server answered at last). */
    void done() {
      boolean recovered;
      synchronized (this) {
        recovered = troubled;
        troubled = false;
      }
      if (recovered) {
        recovered();
      }
    }

    /**
     * The caller stops waiting (an {@link HttpStream}'s reader went off with its bytes); the time
     * until {@link #enter} is not the server's and does not count.
     */
    synchronized void leave() {
      waiting = false;
      leftAtNanos = System.nanoTime();
    }

    synchronized void enter() {
      if (waiting) {
        return;
      }
      long now = System.nanoTime();
      waiting = true;
      usefulAtNanos = Math.min(now, usefulAtNanos + (now - leftAtNanos));
      if (failingSinceNanos >= 0) {
        failingSinceNanos = Math.min(now, failingSinceNanos + (now - leftAtNanos));
      }
    }

    synchronized boolean waiting() {
      return waiting;
    }

    private long deadline() {
      if (!reached && failingSinceNanos >= 0) {
        // Never answered: the stated first-contact time counts from the first failure, so setting
        // up the client does not eat into it.
        return failingSinceNanos + options.effectiveFirstContactBudget().toNanos();
      }
      Duration budget = reached ? options.retryBudget() : options.effectiveFirstContactBudget();
      return usefulAtNanos + budget.toNanos();
    }

    /**
     * For the watchdog: announces a trickle once, and says whether the budget ran out (the body
     * should then be cut, and the caller's next {@link #failed} gives up).
     */
    boolean checkPace() {
      long rate;
      long left;
      synchronized (this) {
        if (!waiting) {
          return false;
        }
        long now = System.nanoTime();
        left = deadline() - now;
        if (left <= 0) {
          return true;
        }
        long slowFor = now - usefulAtNanos;
        if (slowFor < windowNanos || sinceUseful == 0) {
          return false;
        }
        rate = (long) (sinceUseful * 1e9 / slowFor);
        troubled = true;
      }
      slow(rate, left);
      return false;
    }

    /** How soon the watchdog should look again. */
    synchronized long checkIntervalNanos() {
      long toDeadline = deadline() - System.nanoTime();
      return Math.max(1_000_000, Math.min(bucketNanos, toDeadline));
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
      Duration wait;
      long deadline;
      boolean firstContact = !reached;
      synchronized (this) {
        if (failingSinceNanos < 0) {
          failingSinceNanos = now;
        }
        attempts++;
        troubled = true;
        deadline = deadline();
        // A server that asks to be left alone past the deadline is not waited for; otherwise the
        // last wait is cut short so the last attempt comes at the deadline.
        if (now >= deadline
            || retryAfter.isPresent() && now + retryAfter.get().toNanos() > deadline) {
          throw giveUp(now, description, connect, firstContact, cause);
        }
        wait = retryAfter.orElse(backoff);
        if (now + wait.toNanos() > deadline) {
          wait = Duration.ofNanos(deadline - now);
        }
        backoff = backoff.multipliedBy(2);
        if (backoff.compareTo(HttpOptions.MAX_BACKOFF) > 0) {
          backoff = HttpOptions.MAX_BACKOFF;
        }
      }
      outageBegins(description, firstContact && connect, deadline - now);
      checkPace();
      try {
        Thread.sleep(wait.toMillis(), (int) (wait.toNanos() % 1_000_000));
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting to retry " + display);
      }
    }

    private HttpSourceException giveUp(
        long now, String description, boolean connect, boolean firstContact, Throwable cause) {
      Duration tried = Duration.ofNanos(now - failingSinceNanos);
      long slowFor = now - usefulAtNanos;
      if (sinceUseful > 0 && slowFor >= windowNanos) {
        return new HttpSourceException(
            Kind.GAVE_UP,
            "gave up reading "
                + display
                + ": server "
                + hostPort()
                + " sent "
                + rate((long) (sinceUseful * 1e9 / slowFor))
                + " for "
                + wholeSeconds(slowFor)
                + ", below the "
                + rate(options.minRate())
                + " that counts as progress (last error: "
                + description
                + ")",
            cause);
      }
      if (connect && firstContact) {
        return new HttpSourceException(
            Kind.CANNOT_CONNECT,
            "cannot reach "
                + hostPort()
                + " ("
                + description
                + ") for "
                + display
                + ": check the URL and that the server is running (tried "
                + attempts
                + " times over "
                + seconds(tried)
                + ")",
            cause);
      }
      if (connect) {
        return new HttpSourceException(
            Kind.CANNOT_CONNECT,
            "cannot connect to "
                + hostPort()
                + " for "
                + display
                + ": "
                + description
                + " (tried "
                + attempts
                + " times over "
                + seconds(tried)
                + ")",
            cause);
      }
      return new HttpSourceException(
          Kind.GAVE_UP,
          "gave up reading "
              + display
              + " after "
              + attempts
              + " attempts over "
              + seconds(tried)
              + ": last error: "
              + description,
          cause);
    }
  }

  // ---------------------------------------------------------------- stalls

  /**
   * Watches a body: closes it when no byte has arrived for the request timeout, or when {@code
   * retry}'s budget ran out while bytes trickle in; feeds {@code retry} the bytes.
   */
  Watch watch(java.io.Closeable body, Retry retry) {
    return new Watch(body, options.requestTimeout().toNanos(), retry);
  }

  static final class Watch implements AutoCloseable {
    private final java.io.Closeable body;
    private final long timeoutNanos;
    private final Retry retry; // null: only the time without a byte is watched
    private volatile long lastNanos = System.nanoTime();
    private volatile boolean fired;
    private volatile boolean closed;
    private ScheduledFuture<?> next;

    /** Closes {@code body} after {@code timeoutNanos}, unless closed first or told of progress. */
    Watch(java.io.Closeable body, long timeoutNanos) {
      this(body, timeoutNanos, null);
    }

    Watch(java.io.Closeable body, long timeoutNanos, Retry retry) {
      this.body = body;
      this.timeoutNanos = timeoutNanos;
      this.retry = retry;
      schedule(retry == null ? timeoutNanos : Math.min(timeoutNanos, retry.checkIntervalNanos()));
    }

    private synchronized void schedule(long delayNanos) {
      if (!closed) {
        next = WATCHDOG.schedule(this::check, delayNanos, TimeUnit.NANOSECONDS);
      }
    }

    private void check() {
      if (closed) {
        return;
      }
      if (retry != null && !retry.waiting()) {
        schedule(timeoutNanos); // the reader is away: the silence is not the server's
        return;
      }
      long idle = System.nanoTime() - lastNanos;
      if (idle >= timeoutNanos || retry != null && retry.checkPace()) {
        fired = true;
        try {
          body.close();
        } catch (IOException | RuntimeException ignored) {
          // the reader sees the stream end or fail, and retries or gives up
        }
        return;
      }
      long wait = timeoutNanos - idle;
      schedule(retry == null ? wait : Math.min(wait, retry.checkIntervalNanos()));
    }

    /** {@code n} bytes arrived (0: the caller is back and waits again). */
    void progress(long n) {
      lastNanos = System.nanoTime();
      if (n > 0 && retry != null) {
        retry.received(n);
      }
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
