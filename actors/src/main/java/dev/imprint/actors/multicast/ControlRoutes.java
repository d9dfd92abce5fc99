package dev.imprint.actors.multicast;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.extractClientIP;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.getFromFile;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import dev.imprint.engine.control.ClientReport;
import dev.imprint.engine.control.ControlChannel;
import dev.imprint.engine.control.Handshake;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * A session's control channel on its TCP port (docs/PROTOCOL.md, "Control channel"): the handshake,
 * the image file with range requests (header, index and signatures, repair, unicast fallback), and
 * client reports. Every request passes the session's access check first.
 */
final class ControlRoutes {
  private static final Duration ASK = Duration.ofSeconds(5);

  private ControlRoutes() {}

  static CompletionStage<ServerBinding> bind(
      ActorSystem<?> system, ServedImage image, ActorRef<CastSession.Command> session) {
    ServerSettings settings =
        ServerSettings.create(system.settings().config())
            .withRemoteAddressAttribute(true)
            // HEAD answered as GET without its body: HttpRangeReader asks HEAD first.
            .withTransparentHeadRequests(true);
    return Http.get(system)
        .newServerAt("0.0.0.0", image.config().port())
        .withSettings(settings)
        .bind(routes(system, image, session));
  }

  static Route routes(
      ActorSystem<?> system, ServedImage image, ActorRef<CastSession.Command> session) {
    return allowed(
        image,
        client ->
            concat(
                path(
                    segments(ControlChannel.HANDSHAKE),
                    () ->
                        get(
                            () ->
                                parameterOptional(
                                    "version",
                                    version ->
                                        parameterOptional(
                                            "name",
                                            name ->
                                                handshake(
                                                    system, session, client, version, name))))),
                path(segments(ControlChannel.IMAGE), () -> get(() -> imageFile(image.image()))),
                path(
                    segments(ControlChannel.REPORT),
                    () ->
                        post(
                            () ->
                                entity(
                                    Unmarshaller.entityToString(),
                                    body -> report(system, session, client, body))))));
  }

  /** The image file: single ranges read from where they start (FileRanges), the rest by Pekko. */
  private static Route imageFile(java.nio.file.Path file) {
    Route whole = getFromFile(file.toFile());
    return optionalHeaderValueByName(
        "Range",
        range ->
            optionalHeaderValueByName(
                "If-Match",
                ifMatch ->
                    optionalHeaderValueByName(
                        "If-Unmodified-Since",
                        ifUnmodified -> {
                          if (range.isEmpty()) {
                            return whole;
                          }
                          try {
                            return FileRanges.answer(file, range.get(), ifMatch, ifUnmodified)
                                .<Route>map(r -> complete(r))
                                .orElse(whole);
                          } catch (java.io.IOException | RuntimeException e) {
                            return whole;
                          }
                        })));
  }

  private static org.apache.pekko.http.javadsl.server.PathMatcher0 segments(String path) {
    String[] parts = path.substring(1).split("/");
    org.apache.pekko.http.javadsl.server.PathMatcher0 m = PathMatchers.segment(parts[0]);
    for (int i = 1; i < parts.length; i++) {
      m = m.slash(parts[i]);
    }
    return m;
  }

  /** Refuses, with 403 and one line, a client outside --allow or without the token. */
  private static Route allowed(ServedImage image, Function<InetAddress, Route> inner) {
    return extractClientIP(
        remote ->
            optionalHeaderValueByName(
                ControlChannel.AUTHORIZATION,
                auth -> {
                  Optional<InetAddress> a = remote.getAddress();
                  if (a.isEmpty()) {
                    return text(StatusCodes.FORBIDDEN, "the client's address is unknown");
                  }
                  String refused = image.access().refusal(a.get(), auth.orElse(null));
                  return refused == null
                      ? inner.apply(a.get())
                      : text(StatusCodes.FORBIDDEN, refused);
                }));
  }

  private static Route handshake(
      ActorSystem<?> system,
      ActorRef<CastSession.Command> session,
      InetAddress client,
      Optional<String> version,
      Optional<String> name) {
    String mine = Integer.toString(ControlChannel.VERSION);
    if (version.isEmpty() || !version.get().equals(mine)) {
      return text(
          StatusCodes.CONFLICT,
          "this server speaks control protocol "
              + mine
              + ", the client "
              + version.orElse("none")
              + ": use the same imprint version on both sides");
    }
    CompletionStage<Handshake> h =
        AskPattern.ask(
            session,
            (ActorRef<Handshake> r) ->
                new CastSession.Hello(client, name.orElse(client.getHostAddress()), r),
            ASK,
            system.scheduler());
    return completeWithFuture(
        h.thenApply(
            x ->
                HttpResponse.create()
                    .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, x.toJson()))));
  }

  private static Route report(
      ActorSystem<?> system,
      ActorRef<CastSession.Command> session,
      InetAddress client,
      String body) {
    ClientReport r;
    try {
      r = ClientReport.parse(body);
    } catch (IllegalArgumentException e) {
      return text(StatusCodes.BAD_REQUEST, "not a client report: " + e.getMessage());
    }
    CompletionStage<Boolean> known =
        AskPattern.ask(
            session,
            (ActorRef<Boolean> replyTo) -> new CastSession.Reported(client, r, replyTo),
            ASK,
            system.scheduler());
    return completeWithFuture(
        known.thenApply(
            k ->
                k
                    ? HttpResponse.create().withStatus(StatusCodes.NO_CONTENT)
                    : response(
                        StatusCodes.NOT_FOUND,
                        "unknown client " + r.client() + ": shake hands again")));
  }

  private static Route text(StatusCode status, String line) {
    return complete(response(status, line));
  }

  private static HttpResponse response(StatusCode status, String line) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, line + "\n"));
  }

  static CompletableFuture<Void> done() {
    return CompletableFuture.completedFuture(null);
  }
}
