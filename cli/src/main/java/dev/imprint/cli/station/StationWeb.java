package dev.imprint.cli.station;

import dev.imprint.actors.station.SlotState;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.cli.output.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * The station's web page ({@code --http}): the board as a page that updates itself over server-sent
 * events, the same board as JSON, and Prometheus metrics. Read-only unless a token was given; with
 * one, requests carrying it may arm and disarm slots and stop the station.
 *
 * <p>The front end's thread feeds it events; it keeps its own {@link BoardModel} (guarded by
 * itself, since HTTP requests read it from Pekko's threads) and publishes a new board at most at
 * each tick, so a burst of progress costs one message per client.
 */
public final class StationWeb extends AllDirectives implements StationDisplay {
  /** What the page's buttons reach: the station's own commands. */
  public interface Control {
    void arm(String slot, boolean armed);

    void stop(String why);
  }

  /** Where to listen, and the token that unlocks changes (empty: read-only). */
  public record Options(InetSocketAddress address, Optional<String> token) {
    /** {@code [ADDR:]PORT}; an address alone is refused, a bare port means 127.0.0.1. */
    public static InetSocketAddress parse(String spec) {
      int colon = spec.lastIndexOf(':');
      String host = colon < 0 ? "127.0.0.1" : spec.substring(0, colon);
      String port = colon < 0 ? spec : spec.substring(colon + 1);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int p;
      try {
        p = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "--http " + spec + ": give [ADDRESS:]PORT, e.g. 8080 or 0.0.0.0:8080");
      }
      if (p < 0 || p > 65535) {
        throw new IllegalArgumentException("--http " + spec + ": the port must be 0 to 65535");
      }
      return new InetSocketAddress(host.isEmpty() ? "127.0.0.1" : host, p);
    }
  }

  private final BoardModel model = new BoardModel();
  private final String title;
  private final Optional<byte[]> token;
  private final Control control;
  private final SourceQueueWithComplete<String> boards;
  private final Source<String, NotUsed> hub;
  private final ServerBinding binding;
  private final byte[] page;
  private long events;
  private boolean dirty;

  private StationWeb(
      ActorSystem<?> system, String title, Options options, Control control, Duration timeout)
      throws IOException {
    this.title = title;
    this.token = options.token().map(t -> t.getBytes(StandardCharsets.UTF_8));
    this.control = control;
    this.page = page();
    // Each published board goes to every connected page; one nobody reads is dropped, not kept.
    Pair<SourceQueueWithComplete<String>, Source<String, NotUsed>> pair =
        Source.<String>queue(16, OverflowStrategy.dropHead())
            .toMat(BroadcastHub.of(String.class, 16), Keep.both())
            .run(system);
    this.boards = pair.first();
    this.hub = pair.second();
    // Without a subscriber the hub would hold the queue back; this one drains it.
    hub.runForeach(b -> {}, system);
    try {
      this.binding =
          Http.get(system)
              .newServerAt(options.address().getHostString(), options.address().getPort())
              .bind(routes())
              .toCompletableFuture()
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      boards.complete();
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IOException(
          "cannot serve the board on "
              + options.address()
              + " ("
              + cause.getMessage()
              + "): choose another --http port",
          e);
    }
  }

  /** Serves the board; closing it unbinds. */
  public static StationWeb start(
      ActorSystem<?> system, String title, Options options, Control control) throws IOException {
    return new StationWeb(system, title, options, control, Duration.ofSeconds(10));
  }

  /** The page's address, e.g. {@code http://127.0.0.1:8080/}. */
  public URI address() {
    InetSocketAddress a = binding.localAddress();
    InetAddress ip = a.getAddress();
    String host =
        ip.getHostAddress().contains(":") ? "[" + ip.getHostAddress() + "]" : ip.getHostAddress();
    if (ip.isAnyLocalAddress()) {
      host = "127.0.0.1";
    }
    return URI.create("http://" + host + ":" + a.getPort() + "/");
  }

  @Override
  public void event(StationEvent e) {
    synchronized (model) {
      model.apply(e);
      events++;
      dirty = true;
    }
    // State changes go out at once: a page must see every state a slot passes through.
    if (e instanceof StationEvent.SlotChanged) {
      publish();
    }
  }

  @Override
  public void tick() {
    publish();
  }

  @Override
  public void finished(boolean ok, String message, int exitCode) {
    synchronized (model) {
      dirty = true;
    }
    publish();
  }

  @Override
  public void close() {
    boards.complete();
    binding.unbind();
  }

  private void publish() {
    String board;
    synchronized (model) {
      if (!dirty) {
        return;
      }
      dirty = false;
      board = boardJson();
    }
    boards.offer(board);
  }

  private Route routes() {
    return concat(
        pathSingleSlash(() -> get(() -> complete(html()))),
        path(
            PathMatchers.segment("api").slash("board"),
            () -> get(() -> complete(json(StatusCodes.OK, currentBoard())))),
        path(
            PathMatchers.segment("api").slash("events"),
            () ->
                get(
                    () ->
                        completeOK(
                            Source.single(currentBoard())
                                .concat(hub)
                                .map(b -> ServerSentEvent.create(b, "board"))
                                .keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat),
                            EventStreamMarshalling.toEventStream()))),
        path("metrics", () -> get(() -> complete(metrics()))),
        path(
            PathMatchers.segment("api").slash("arm"),
            () ->
                post(
                    () ->
                        authorized(
                            () ->
                                parameter(
                                    "slot",
                                    slot ->
                                        parameterOptional(
                                            "armed",
                                            armed -> {
                                              boolean on = !armed.orElse("true").equals("false");
                                              control.arm(slot, on);
                                              return complete(
                                                  json(
                                                      StatusCodes.OK,
                                                      Json.object("slot", slot, "armed", on)));
                                            }))))),
        path(
            PathMatchers.segment("api").slash("stop"),
            () ->
                post(
                    () ->
                        authorized(
                            () -> {
                              control.stop("stopped from the web page");
                              return complete(json(StatusCodes.OK, Json.object("stopping", true)));
                            }))));
  }

  /** Changes need the token, compared in constant time; without one the page is read-only. */
  private Route authorized(java.util.function.Supplier<Route> inner) {
    return optionalHeaderValueByName(
        "Authorization",
        header -> {
          if (token.isEmpty()) {
            return complete(
                json(
                    StatusCodes.FORBIDDEN,
                    Json.object(
                        "error",
                        "the board is read-only: start the station with --http-token to allow"
                            + " changes")));
          }
          byte[] given =
              header
                  .filter(h -> h.startsWith("Bearer "))
                  .map(h -> h.substring(7).getBytes(StandardCharsets.UTF_8))
                  .orElse(new byte[0]);
          if (!MessageDigest.isEqual(given, token.get())) {
            return complete(
                json(
                    StatusCodes.UNAUTHORIZED,
                    Json.object(
                        "error", "a wrong or missing token: send Authorization: Bearer TOKEN")));
          }
          return inner.get();
        });
  }

  private static HttpResponse json(
      org.apache.pekko.http.javadsl.model.StatusCode status, String body) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
  }

  private HttpResponse html() {
    return HttpResponse.create()
        .withEntity(HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, page))
        .addHeader(
            org.apache.pekko.http.javadsl.model.headers.RawHeader.create(
                "Cache-Control", "no-store"));
  }

  private String currentBoard() {
    synchronized (model) {
      return boardJson();
    }
  }

  /** The board as one JSON object (docs/STATION.md, "The web page"); caller holds the model. */
  private String boardJson() {
    List<Object> slots = new ArrayList<>();
    for (BoardModel.Row r : model.rows()) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("slot", r.slot);
      s.put("label", r.label);
      s.put("device", r.drive.node().toString());
      s.put("model", r.drive.description());
      s.put("serial", r.drive.serial());
      s.put("size", r.drive.size());
      s.put("state", r.state == null ? "" : r.state.wireName());
      s.put("percent", r.percent());
      s.put("bytesPerSecond", Math.round(r.rate));
      s.put("etaSeconds", r.eta());
      s.put("result", BoardModel.result(r));
      s.put("firstBadOffset", r.firstBad);
      slots.add(s);
    }
    return Json.object(
        "schema",
        1,
        "title",
        title,
        "events",
        events,
        "totals",
        Map.of(
            "done", model.done(),
            "failed", model.failed(),
            "running", model.running(),
            "bytesPerSecond", Math.round(model.aggregateRate())),
        "totalsLine",
        model.totals(),
        "writable",
        token.isPresent(),
        "slots",
        slots);
  }

  /** Prometheus text format 0.0.4. */
  private HttpResponse metrics() {
    StringBuilder b = new StringBuilder();
    synchronized (model) {
      Map<SlotState, Integer> byState = new EnumMap<>(SlotState.class);
      for (SlotState s : SlotState.values()) {
        byState.put(s, 0);
      }
      for (BoardModel.Row r : model.rows()) {
        if (r.state != null) {
          byState.merge(r.state, 1, Integer::sum);
        }
      }
      b.append("# HELP imprint_station_slots Slots by the state of their drive.\n");
      b.append("# TYPE imprint_station_slots gauge\n");
      byState.forEach(
          (s, n) ->
              b.append("imprint_station_slots{state=\"")
                  .append(s.wireName())
                  .append("\"} ")
                  .append(n)
                  .append('\n'));
      b.append("# HELP imprint_station_drives_total Drive jobs ended, by result.\n");
      b.append("# TYPE imprint_station_drives_total counter\n");
      b.append("imprint_station_drives_total{result=\"done\"} ").append(model.done()).append('\n');
      b.append("imprint_station_drives_total{result=\"failed\"} ")
          .append(model.failed())
          .append('\n');
      b.append("# HELP imprint_station_bytes_per_second Bytes per second written or verified.\n");
      b.append("# TYPE imprint_station_bytes_per_second gauge\n");
      b.append("imprint_station_bytes_per_second ")
          .append(Math.round(model.aggregateRate()))
          .append('\n');
      b.append(
          "# HELP imprint_station_slot_progress_ratio Progress of the slot's current phase.\n");
      b.append("# TYPE imprint_station_slot_progress_ratio gauge\n");
      for (BoardModel.Row r : model.rows()) {
        b.append("imprint_station_slot_progress_ratio{slot=\"")
            .append(label(r.slot))
            .append("\",label=\"")
            .append(label(r.label))
            .append("\",state=\"")
            .append(r.state == null ? "" : r.state.wireName())
            .append("\"} ")
            .append(
                String.format(Locale.ROOT, "%.4f", r.total <= 0 ? 0.0 : (double) r.done / r.total))
            .append('\n');
      }
    }
    return HttpResponse.create()
        .withEntity(
            HttpEntities.create(
                ContentTypes.TEXT_PLAIN_UTF8, b.toString().getBytes(StandardCharsets.UTF_8)));
  }

  /** A Prometheus label value: backslash, quote and newline escaped. */
  private static String label(String v) {
    return v == null ? "" : v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  private static byte[] page() throws IOException {
    try (InputStream in = StationWeb.class.getResourceAsStream("board.html")) {
      if (in == null) {
        throw new IOException("board.html is missing from the jar");
      }
      return in.readAllBytes();
    }
  }
}
