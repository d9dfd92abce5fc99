package dev.imprint.engine.http;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How Imprint talks to an HTTP(S) server.
 *
 * @param connections parallel range requests at most (default 4); the restore pipeline should use
 *     the same number as its read parallelism
 * @param connectTimeout time to open a TCP (and TLS) connection (default 10 s)
 * @param requestTimeout time to wait for response headers, and the longest a body may stall without
 *     a byte arriving (default 30 s); a stall counts as a broken connection and is retried
 * @param retryBudget the longest a read may go without useful progress (see {@code minRate}):
 *     failed attempts are retried with backoff (0.5 s doubling to 10 s, or the server's
 *     Retry-After) and a trickling server is cut off, until this much time has passed (default 5
 *     min)
 * @param firstContactBudget the same for a server never reached yet (no HTTP answer so far): a
 *     wrong URL or a server that isn't running is reported after this long (default 10 s; never
 *     more than {@code retryBudget}). Set it to {@code retryBudget} when the user chose the budget.
 * @param minRate what counts as useful progress: at least this many bytes per second, measured over
 *     {@code rateWindow} (default 64 KiB/s)
 * @param rateWindow the window {@code minRate} is measured over (default 30 s)
 * @param headers extra request headers, each "Name: value" (e.g. "Authorization: Bearer T")
 * @param cacert a PEM file of CA certificates trusted <em>in addition to</em> the system's trust
 *     store (the JDK's cacerts), for servers with a private CA
 * @param insecure skip TLS certificate and host name checks entirely (only when asked by name)
 * @param environment where the proxy variables are read from: https_proxy, http_proxy, no_proxy
 *     (lowercase first, then uppercase); normally {@link System#getenv()}
 * @param notices receives one line when an outage begins (connection refused, reset, stalled, HTTP
 *     5xx), one when it ends, and one when the server is too slow to count as progress; never one
 *     per attempt. May be called from any thread.
 */
public record HttpOptions(
    int connections,
    Duration connectTimeout,
    Duration requestTimeout,
    Duration retryBudget,
    Duration firstContactBudget,
    long minRate,
    Duration rateWindow,
    List<String> headers,
    Optional<Path> cacert,
    boolean insecure,
    Map<String, String> environment,
    Consumer<String> notices) {

  public static final int DEFAULT_CONNECTIONS = 4;
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_RETRY_BUDGET = Duration.ofMinutes(5);
  public static final Duration DEFAULT_FIRST_CONTACT_BUDGET = Duration.ofSeconds(10);
  public static final long DEFAULT_MIN_RATE = 64 << 10;
  public static final Duration DEFAULT_RATE_WINDOW = Duration.ofSeconds(30);
  static final Duration FIRST_BACKOFF = Duration.ofMillis(500);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  public HttpOptions {
    if (connections < 1) {
      throw new IllegalArgumentException("connections must be at least 1, not " + connections);
    }
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(retryBudget, "retryBudget");
    Objects.requireNonNull(firstContactBudget, "firstContactBudget");
    if (minRate < 0) {
      throw new IllegalArgumentException("minRate must not be negative, not " + minRate);
    }
    if (rateWindow.isNegative() || rateWindow.isZero()) {
      throw new IllegalArgumentException("rateWindow must be positive, not " + rateWindow);
    }
    headers = List.copyOf(headers);
    for (String h : headers) {
      HttpClients.parseHeader(h); // fails early on a malformed header
    }
    Objects.requireNonNull(cacert, "cacert");
    environment = Map.copyOf(environment);
    Objects.requireNonNull(notices, "notices");
  }

  /** The defaults, with proxies from this process's environment and notices dropped. */
  public static HttpOptions defaults() {
    return new HttpOptions(
        DEFAULT_CONNECTIONS,
        DEFAULT_CONNECT_TIMEOUT,
        DEFAULT_REQUEST_TIMEOUT,
        DEFAULT_RETRY_BUDGET,
        DEFAULT_FIRST_CONTACT_BUDGET,
        DEFAULT_MIN_RATE,
        DEFAULT_RATE_WINDOW,
        List.of(),
        Optional.empty(),
        false,
        System.getenv(),
        line -> {});
  }

  /** The budget for a server never reached so far. */
  Duration effectiveFirstContactBudget() {
    return firstContactBudget.compareTo(retryBudget) < 0 ? firstContactBudget : retryBudget;
  }

  /** The fields of a copy being made; each {@code withX} changes one. */
  private static final class Copy {
    int connections;
    Duration connectTimeout;
    Duration requestTimeout;
    Duration retryBudget;
    Duration firstContactBudget;
    long minRate;
    Duration rateWindow;
    List<String> headers;
    Optional<Path> cacert;
    boolean insecure;
    Map<String, String> environment;
    Consumer<String> notices;
  }

  private HttpOptions copy(Consumer<Copy> change) {
    Copy c = new Copy();
    c.connections = connections;
    c.connectTimeout = connectTimeout;
    c.requestTimeout = requestTimeout;
    c.retryBudget = retryBudget;
    c.firstContactBudget = firstContactBudget;
    c.minRate = minRate;
    c.rateWindow = rateWindow;
    c.headers = headers;
    c.cacert = cacert;
    c.insecure = insecure;
    c.environment = environment;
    c.notices = notices;
    change.accept(c);
    return new HttpOptions(
        c.connections,
        c.connectTimeout,
        c.requestTimeout,
        c.retryBudget,
        c.firstContactBudget,
        c.minRate,
        c.rateWindow,
        c.headers,
        c.cacert,
        c.insecure,
        c.environment,
        c.notices);
  }

  public HttpOptions withConnections(int n) {
    return copy(c -> c.connections = n);
  }

  public HttpOptions withTimeouts(Duration connect, Duration request) {
    return copy(
        c -> {
          c.connectTimeout = connect;
          c.requestTimeout = request;
        });
  }

  /** The budget for outages and slowness once the server answered (the first contact's stays). */
  public HttpOptions withRetryBudget(Duration budget) {
    return copy(c -> c.retryBudget = budget);
  }

  /**
   * The budget the user chose by name (--retry-for): it applies at first contact too, so a server
   * that is down when the restore starts is waited for as long as asked.
   */
  public HttpOptions withExplicitRetryBudget(Duration budget) {
    return copy(
        c -> {
          c.retryBudget = budget;
          c.firstContactBudget = budget;
        });
  }

  public HttpOptions withFirstContactBudget(Duration budget) {
    return copy(c -> c.firstContactBudget = budget);
  }

  /** What counts as useful progress: {@code bytesPerSecond} over {@code window}. */
  public HttpOptions withMinRate(long bytesPerSecond, Duration window) {
    return copy(
        c -> {
          c.minRate = bytesPerSecond;
          c.rateWindow = window;
        });
  }

  public HttpOptions withHeaders(List<String> h) {
    return copy(c -> c.headers = h);
  }

  public HttpOptions withCacert(Path pem) {
    return copy(c -> c.cacert = Optional.ofNullable(pem));
  }

  public HttpOptions withInsecure(boolean skipChecks) {
    return copy(c -> c.insecure = skipChecks);
  }

  public HttpOptions withEnvironment(Map<String, String> env) {
    return copy(c -> c.environment = env);
  }

  /** Where outage, recovery and slowness lines go (see {@link #notices()}). */
  public HttpOptions withNotices(Consumer<String> listener) {
    return copy(c -> c.notices = listener);
  }
}
