package dev.imprint.actors.multicast;

import dev.imprint.engine.control.ControlChannel;
import dev.imprint.engine.control.Handshake;
import dev.imprint.engine.multicast.ClientReport;
import dev.imprint.engine.multicast.SessionKeys;
import dev.imprint.engine.multicast.StreamParams;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.slf4j.LoggerFactory;

/**
 * One session: an image on a group and port. Owns its control channel (bound on start), its
 * clients' state and its carousel, which starts at the first client and pauses after Loop Suspend
 * loops without one. Bytes move in the carousel's threads and the HTTP server's streams; only
 * handshakes, reports and loop numbers come through here.
 */
public final class CastSession extends AbstractBehavior<CastSession.Command> {
  /** A client not heard from this long has left. */
  static final Duration SILENCE = Duration.ofSeconds(30);

  /**
   * A client's first report may take longer: between its handshake and it lie the wait for
   * multicast, reading the index and the checks of its targets.
   */
  static final Duration FIRST_REPORT = Duration.ofMinutes(2);

  static final Duration TICK = Duration.ofSeconds(1);

  public sealed interface Command {}

  /** A handshake from {@code address}; the answer goes to {@code replyTo}. */
  public record Hello(InetAddress address, String name, ActorRef<Handshake> replyTo)
      implements Command {}

  /** A client's report; {@code replyTo} hears whether the client is known. */
  public record Reported(
      InetAddress address,
      dev.imprint.engine.control.ClientReport report,
      ActorRef<Boolean> replyTo)
      implements Command {}

  /** Closes the channel and the carousel, then tells {@code replyTo}. */
  public record Stop(ActorRef<String> replyTo) implements Command {}

  private record Bound(ServerBinding binding) implements Command {}

  private record BindFailed(String message) implements Command {}

  private record LoopStarted(int loop) implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private final ServedImage image;
  private final SessionStream.Factory streams;
  private final ActorRef<ServerEvent> listener;
  private final SessionKeys keys;
  private final StreamParams params = StreamParams.DEFAULT;
  private final Map<String, ClientView> clients = new LinkedHashMap<>();
  private ServerBinding binding;
  private SessionStream stream;
  private boolean suspended;

  /**
   * The stream is held until a client says it receives (its first report comes once it has joined
   * the group): started at the handshake, its first seconds would go out before anyone listens, and
   * the first client would wait a whole loop for them.
   */
  private boolean held;

  private int loopsWithoutClient;
  private int nextClient = 1;

  public static Behavior<Command> create(
      ServedImage image, SessionStream.Factory streams, ActorRef<ServerEvent> listener) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(timers -> new CastSession(ctx, timers, image, streams, listener)));
  }

  private CastSession(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      ServedImage image,
      SessionStream.Factory streams,
      ActorRef<ServerEvent> listener) {
    super(ctx);
    this.image = image;
    this.streams = streams;
    this.listener = listener;
    this.keys = SessionKeys.generate(HexFormat.of().parseHex(image.digest()));
    for (String w : image.config().warnings()) {
      listener.tell(new ServerEvent.Warning(image.name(), w));
    }
    ctx.pipeToSelf(
        ControlRoutes.bind(ctx.getSystem(), image, ctx.getSelf()),
        (b, t) ->
            t == null
                ? new Bound(b)
                : new BindFailed(
                    "cannot listen on port "
                        + image.config().port()
                        + " ("
                        + rootMessage(t)
                        + "): another server uses it; choose another Port"));
    timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Bound.class, this::onBound)
        .onMessage(
            BindFailed.class,
            f -> {
              listener.tell(new ServerEvent.Failed(image.name(), f.message()));
              return Behaviors.stopped();
            })
        .onMessage(Hello.class, this::onHello)
        .onMessage(Reported.class, this::onReport)
        .onMessage(LoopStarted.class, this::onLoop)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Stop.class, this::onStop)
        .onSignal(
            PostStop.class,
            s -> {
              closeAll();
              return this;
            })
        .build();
  }

  private Behavior<Command> onBound(Bound b) {
    binding = b.binding();
    listener.tell(new ServerEvent.Ready(image.name(), image.config().port()));
    return this;
  }

  private Behavior<Command> onHello(Hello h) {
    String id = "c" + nextClient++;
    Instant now = Instant.now();
    clients.put(
        id,
        new ClientView(
            id,
            h.address().getHostAddress(),
            h.name(),
            "joining",
            0,
            0,
            0,
            0,
            false,
            "",
            now,
            now));
    startOrResume();
    h.replyTo()
        .tell(
            new Handshake(
                ControlChannel.VERSION,
                String.format("%016x", keys.sessionId()),
                HexFormat.of().formatHex(keys.macSecret()),
                id,
                image.name(),
                image.size(),
                image.digest(),
                image.config().groupText(),
                image.config().port(),
                image.config().sendRateCeiling(),
                params.symbolSize(),
                params.blockSymbols(),
                stream != null && !suspended));
    return this;
  }

  /** The stream starts at the first client and resumes at the first one after a suspension. */
  private void startOrResume() {
    loopsWithoutClient = 0;
    if (streams == null) {
      return;
    }
    if (stream == null) {
      try {
        stream = streams.create(image, keys, params);
        ActorRef<Command> self = getContext().getSelf();
        stream.setPaused(true);
        held = true;
        stream.start(loop -> self.tell(new LoopStarted(loop)));
      } catch (Exception e) {
        LoggerFactory.getLogger(CastSession.class).error("stream of {}", image.name(), e);
        listener.tell(
            new ServerEvent.Warning(
                image.name(), "the stream cannot start (" + e + "): clients fall back to unicast"));
      }
    } else if (suspended) {
      suspended = false;
      held = true; // still paused: it goes on when a client reports that it listens
    }
  }

  private Behavior<Command> onReport(Reported r) {
    dev.imprint.engine.control.ClientReport c = r.report();
    ClientView old = clients.get(c.client());
    if (old == null) {
      r.replyTo().tell(false);
      return this;
    }
    r.replyTo().tell(true);
    ClientView now =
        new ClientView(
            old.id(),
            r.address().getHostAddress(),
            old.name(),
            c.state(),
            c.done(),
            c.total(),
            c.loss(),
            c.writeRate(),
            c.writeBound(),
            c.detail(),
            old.since(),
            Instant.now());
    clients.put(c.client(), now);
    if (held
        && stream != null
        && (c.state().equals("listening") || c.state().equals("receiving"))) {
      held = false;
      stream.setPaused(false);
    }
    if (now.finished()) {
      clients.remove(c.client());
      listener.tell(new ServerEvent.ClientGone(image.name(), now, c.state()));
    }
    return this;
  }

  private Behavior<Command> onLoop(LoopStarted l) {
    boolean active = clients.values().stream().anyMatch(c -> !c.finished());
    loopsWithoutClient = active ? 0 : loopsWithoutClient + 1;
    int limit = image.config().loopSuspend();
    if (limit > 0 && loopsWithoutClient > limit && !suspended && stream != null) {
      suspended = true;
      stream.setPaused(true);
      listener.tell(new ServerEvent.StreamSuspended(image.name(), limit));
      return this;
    }
    listener.tell(
        new ServerEvent.StreamStarted(
            image.name(),
            l.loop(),
            Instant.now(),
            stream == null ? 0 : stream.rate(),
            stream == null ? 0 : stream.parity()));
    return this;
  }

  private Behavior<Command> onTick() {
    if (stream != null) {
      List<ClientReport> receiving = new ArrayList<>();
      for (ClientView c : clients.values()) {
        if (c.state().equals("receiving")) {
          receiving.add(
              new ClientReport(Math.max(0, Math.min(1, c.loss())), c.writeRate(), c.writeBound()));
        }
      }
      stream.report(receiving);
    }
    Instant now = Instant.now();
    var it = clients.values().iterator();
    while (it.hasNext()) {
      ClientView c = it.next();
      Duration limit = c.state().equals("joining") ? FIRST_REPORT : SILENCE;
      if (c.lastSeen().isBefore(now.minus(limit))) {
        it.remove();
        listener.tell(new ServerEvent.ClientGone(image.name(), c, "silent"));
      } else {
        listener.tell(new ServerEvent.ClientStatus(image.name(), c));
      }
    }
    return this;
  }

  private Behavior<Command> onStop(Stop s) {
    for (ClientView c : clients.values()) {
      listener.tell(new ServerEvent.ClientGone(image.name(), c, "server stopped"));
    }
    clients.clear();
    // The reply waits for the socket to close: a stopped server leaves no listening socket.
    String name = image.name();
    closeAll().whenComplete((d, t) -> s.replyTo().tell(name));
    return Behaviors.stopped();
  }

  private java.util.concurrent.CompletionStage<?> closeAll() {
    if (stream != null) {
      stream.close();
      stream = null;
    }
    if (binding == null) {
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
    ServerBinding b = binding;
    binding = null;
    return b.unbind();
  }
}
