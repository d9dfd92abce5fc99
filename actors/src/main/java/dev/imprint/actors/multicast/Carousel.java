package dev.imprint.actors.multicast;

import java.util.function.IntConsumer;

/**
 * A session's data stream: the image sent in a loop to its group. Its own threads move the bytes;
 * the session only starts, suspends and closes it.
 */
public interface Carousel extends AutoCloseable {
  /** Sends until closed; {@code onLoop} hears each loop's number as it begins (any thread). */
  void start(IntConsumer onLoop);

  /** Stops sending at the end of the current datagram until {@link #resume}. */
  void suspend();

  void resume();

  @Override
  void close();

  /** Makes the carousel of one session run. */
  interface Factory {
    /**
     * @param image what to send
     * @param sessionId this run's session id (16 bytes)
     * @param secret the datagrams' MAC key
     */
    Carousel create(ServedImage image, byte[] sessionId, byte[] secret) throws Exception;
  }
}
