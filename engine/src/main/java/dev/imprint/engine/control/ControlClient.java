package dev.imprint.engine.control;

import dev.imprint.engine.job.Refusal;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** The client's side of the control channel: the handshake and the reports. */
public final class ControlClient {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final URI base;
  private final java.util.List<String> headers;
  private final String display;
  private final HttpClient http;

  /**
   * @param spec what the user typed ({@code asr://host[:port]}), for messages
   * @param headers extra request headers, "Name: value" (the token's Authorization among them)
   */
  public ControlClient(String spec, java.util.List<String> headers) throws Refusal {
    this.base = ControlChannel.base(spec);
    this.headers = java.util.List.copyOf(headers);
    this.display = spec;
    this.http = prepare().join();
  }

  /**
   * Starts building the HTTP client on another thread, where the front end can call it before
   * anything else (java.net.http's classes, about half a second of a client's start, then load
   * beside the actor system's instead of before the handshake); the client, once built. One client
   * serves every control channel of the process (it is thread-safe).
   */
  public static CompletableFuture<HttpClient> prepare() {
    return Shared.CLIENT;
  }

  /** Started on first use of {@link #prepare} (class initialisation makes it once). */
  private static final class Shared {
    static final CompletableFuture<HttpClient> CLIENT = new CompletableFuture<>();

    static {
      Thread t =
          new Thread(
              () -> {
                try {
                  CLIENT.complete(
                      HttpClient.newBuilder()
                          .connectTimeout(TIMEOUT)
                          .version(HttpClient.Version.HTTP_1_1)
                          .build());
                } catch (RuntimeException | Error e) {
                  CLIENT.completeExceptionally(e);
                }
              },
              "imprint-control-client");
      t.setDaemon(true);
      t.start();
    }
  }

  public URI base() {
    return base;
  }

  /** The image's URL on the control channel. */
  public URI imageUri() {
    return base.resolve(ControlChannel.IMAGE);
  }

  private HttpRequest.Builder request(String pathAndQuery) {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(TIMEOUT);
    for (String h : headers) {
      int colon = h.indexOf(':');
      b.header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
    }
    return b;
  }

  /**
   * Asks the server who it is and what it streams.
   *
   * @param name how the server shows this client (e.g. its host name)
   * @throws Refusal one line: the server cannot be reached, refuses this client, or speaks another
   *     protocol version
   */
  public Handshake handshake(String name) throws Refusal {
    String q =
        ControlChannel.HANDSHAKE
            + "?version="
            + ControlChannel.VERSION
            + "&name="
            + java.net.URLEncoder.encode(name, StandardCharsets.UTF_8);
    HttpResponse<String> r;
    try {
      r = http.send(request(q).GET().build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException e) {
      throw unreachable("did not answer within " + TIMEOUT.toSeconds() + " s");
    } catch (HttpTimeoutException e) {
      throw unreachable("accepted the connection but did not answer the handshake");
    } catch (ConnectException e) {
      throw unreachable("refused the connection");
    } catch (IOException e) {
      throw unreachable(e.getMessage() == null ? e.toString() : e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Refusal("interrupted while contacting " + display);
    }
    String body = r.body() == null ? "" : r.body().trim();
    if (r.statusCode() != 200) {
      String line = body.lines().findFirst().orElse("");
      throw new Refusal(
          display
              + " refused the handshake (HTTP "
              + r.statusCode()
              + (line.isEmpty() ? ")" : "): " + line));
    }
    Handshake h;
    try {
      h = Handshake.parse(body);
    } catch (IllegalArgumentException e) {
      throw new Refusal(
          display
              + " is not an imprint server (its handshake answer cannot be read: "
              + e.getMessage()
              + ")");
    }
    if (h.protocol() != ControlChannel.VERSION) {
      throw new Refusal(
          display
              + " speaks control protocol "
              + h.protocol()
              + ", this imprint speaks "
              + ControlChannel.VERSION
              + ": use the same imprint version on both sides");
    }
    return h;
  }

  private Refusal unreachable(String why) {
    return new Refusal(
        "cannot reach the imprint server at "
            + display
            + " ("
            + base.getHost()
            + " port "
            + base.getPort()
            + " "
            + why
            + "): check that imprint server runs there, the port, and the firewall");
  }

  /** Sends a report without waiting; a lost report is replaced by the next. */
  public CompletableFuture<Integer> report(ClientReport report) {
    HttpRequest req =
        request(ControlChannel.REPORT)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(report.toJson()))
            .build();
    return http.sendAsync(req, HttpResponse.BodyHandlers.discarding())
        .thenApply(HttpResponse::statusCode)
        .exceptionally(t -> -1);
  }
}
