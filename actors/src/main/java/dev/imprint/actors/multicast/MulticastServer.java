package dev.imprint.actors.multicast;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The multicast server of one process: one {@link CastSession} per session (image, group, port),
 * spawned and watched. A session that fails to start stops them all; {@link Stop} closes every
 * session's sockets and then says {@link ServerEvent.Stopped}.
 */
public final class MulticastServer {
  public sealed interface Command {}

  public record Stop() implements Command {}

  private record SessionStopped(String name) implements Command {}

  private record Gone(ActorRef<CastSession.Command> session) implements Command {}

  private MulticastServer() {}

  public static Behavior<Command> create(
      List<ServedImage> images, SessionStream.Factory streams, ActorRef<ServerEvent> listener) {
    return Behaviors.setup(
        ctx -> {
          Set<ActorRef<CastSession.Command>> live = new HashSet<>();
          int i = 0;
          for (ServedImage image : images) {
            ActorRef<CastSession.Command> s =
                ctx.spawn(CastSession.create(image, streams, listener), "session-" + i++);
            ctx.watchWith(s, new Gone(s));
            live.add(s);
          }
          ActorRef<String> stopped = ctx.messageAdapter(String.class, SessionStopped::new);
          return Behaviors.receive(Command.class)
              .onMessage(
                  Stop.class,
                  st -> {
                    live.forEach(s -> s.tell(new CastSession.Stop(stopped)));
                    return stopping(live, listener);
                  })
              .onMessage(
                  Gone.class,
                  g -> {
                    // A session that could not start (its Failed event says why): stop the rest.
                    live.remove(g.session());
                    live.forEach(s -> s.tell(new CastSession.Stop(stopped)));
                    return stopping(live, listener);
                  })
              .build();
        });
  }

  private static Behavior<Command> stopping(
      Set<ActorRef<CastSession.Command>> live, ActorRef<ServerEvent> listener) {
    if (live.isEmpty()) {
      listener.tell(new ServerEvent.Stopped());
      return Behaviors.stopped();
    }
    int[] waiting = {live.size()};
    return Behaviors.receive(Command.class)
        .onMessage(
            SessionStopped.class,
            s -> {
              if (--waiting[0] == 0) {
                listener.tell(new ServerEvent.Stopped());
                return Behaviors.stopped();
              }
              return Behaviors.same();
            })
        .onMessage(Gone.class, g -> Behaviors.same())
        .onMessage(Stop.class, s -> Behaviors.same())
        .onSignal(Terminated.class, t -> Behaviors.same())
        .build();
  }
}
