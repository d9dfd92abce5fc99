package dev.imprint.actors.multicast;

import java.time.Instant;

/** What the multicast server tells its front end (the CLI renders it). */
public sealed interface ServerEvent {
  /** A session's control channel is bound: clients may come. */
  record Ready(String session, int port) implements ServerEvent {}

  /** A line for the user that is not an error. */
  record Warning(String session, String message) implements ServerEvent {}

  /** A session could not start (its port is taken, ...); the server stops. */
  record Failed(String session, String message) implements ServerEvent {}

  /** A loop of the stream begins, at {@code rate} bytes per second. */
  record StreamStarted(String session, int loop, Instant at, long rate, int parity)
      implements ServerEvent {}

  /** The stream paused after Loop Suspend loops without a client. */
  record StreamSuspended(String session, int loops) implements ServerEvent {}

  /** A client's latest state, about once a second while it is there. */
  record ClientStatus(String session, ClientView client) implements ServerEvent {}

  /** A client finished or left; its last state. */
  record ClientGone(String session, ClientView client, String how) implements ServerEvent {}

  /** Every session has stopped; sockets are closed. */
  record Stopped() implements ServerEvent {}
}
