package dev.imprint.actors.multicast;

import dev.imprint.engine.multicast.ClientReport;
import dev.imprint.engine.multicast.SessionKeys;
import dev.imprint.engine.multicast.StreamParams;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A session's data stream: the image sent in a loop to its group. Its own threads move the bytes;
 * the session only starts, pauses, informs and closes it.
 */
public interface SessionStream extends AutoCloseable {
  /** Sends until closed; {@code onLoop} hears each loop's number as it begins (any thread). */
  void start(IntConsumer onLoop);

  /** Holds the stream (Loop Suspend) or lets it go on. */
  void setPaused(boolean paused);

  /** The active clients' latest reports: parity and rate follow the bulk of them. */
  void report(List<ClientReport> reports);

  /** The send rate now, bytes per second, for the status line. */
  long rate();

  /** Parity symbols per FEC block that the stream sends now, for the status line. */
  int parity();

  @Override
  void close();

  /** Makes the stream of one session. */
  interface Factory {
    SessionStream create(ServedImage image, SessionKeys keys, StreamParams params) throws Exception;
  }
}
