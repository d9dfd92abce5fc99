package dev.imprint.engine.http;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How Imprint talks to an HTTP(S) server.
 *
 * @param connections parallel range requests at most (default 4); the restore pipeline should use
 *     the same number as its read parallelism
 * @param connectTimeout time to open a TCP (and TLS) connection (default 10 s)
 * @param requestTimeout time to wait for response headers, and the longest a body may stall without
 *     a byte arriving (default 30 s); a stall counts as a broken connection and is retried
 * @param retryBudget how long one outage may last: failed attempts are retried with backoff (0.5 s
 *     doubling to 10 s, or the server's Retry-After) until this much time has passed without
 *     progress (default 5 min)
 * @param headers extra request headers, each "Name: value" (e.g. "Authorization: Bearer T")
 * @param cacert a PEM file of CA certificates trusted <em>in addition to</em> the system's trust
 *     store (the JDK's cacerts), for servers with a private CA
 * @param insecure skip TLS certificate and host name checks entirely (only when asked by name)
 * @param environment where the proxy variables are read from: https_proxy, http_proxy, no_proxy
 *     (lowercase first, then uppercase); normally {@link System#getenv()}
 */
public record HttpOptions(
    int connections,
    Duration connectTimeout,
    Duration requestTimeout,
    Duration retryBudget,
    List<String> headers,
    Optional<Path> cacert,
    boolean insecure,
    Map<String, String> environment) {

  public static final int DEFAULT_CONNECTIONS = 4;
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_RETRY_BUDGET = Duration.ofMinutes(5);
  static final Duration FIRST_BACKOFF = Duration.ofMillis(500);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  public HttpOptions {
    if (connections < 1) {
      throw new IllegalArgumentException("connections must be at least 1, not " + connections);
    }
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(retryBudget, "retryBudget");
    headers = List.copyOf(headers);
    for (String h : headers) {
      HttpClients.parseHeader(h); // fails early on a malformed header
    }
    Objects.requireNonNull(cacert, "cacert");
    environment = Map.copyOf(environment);
  }

  /** The defaults, with proxies from this process's environment. */
  public static HttpOptions defaults() {
    return new HttpOptions(
        DEFAULT_CONNECTIONS,
        DEFAULT_CONNECT_TIMEOUT,
        DEFAULT_REQUEST_TIMEOUT,
        DEFAULT_RETRY_BUDGET,
        List.of(),
        Optional.empty(),
        false,
        System.getenv());
  }

  public HttpOptions withConnections(int n) {
    return new HttpOptions(
        n, connectTimeout, requestTimeout, retryBudget, headers, cacert, insecure, environment);
  }

  public HttpOptions withTimeouts(Duration connect, Duration request) {
    return new HttpOptions(
        connections, connect, request, retryBudget, headers, cacert, insecure, environment);
  }

  public HttpOptions withRetryBudget(Duration budget) {
    return new HttpOptions(
        connections,
        connectTimeout,
        requestTimeout,
        budget,
        headers,
        cacert,
        insecure,
        environment);
  }

  public HttpOptions withHeaders(List<String> h) {
    return new HttpOptions(
        connections, connectTimeout, requestTimeout, retryBudget, h, cacert, insecure, environment);
  }

  public HttpOptions withCacert(Path pem) {
    return new HttpOptions(
        connections,
        connectTimeout,
        requestTimeout,
        retryBudget,
        headers,
        Optional.ofNullable(pem),
        insecure,
        environment);
  }

  public HttpOptions withInsecure(boolean skipChecks) {
    return new HttpOptions(
        connections,
        connectTimeout,
        requestTimeout,
        retryBudget,
        headers,
        cacert,
        skipChecks,
        environment);
  }

  public HttpOptions withEnvironment(Map<String, String> env) {
    return new HttpOptions(
        connections, connectTimeout, requestTimeout, retryBudget, headers, cacert, insecure, env);
  }
}
