package dev.imprint.engine.multicast;

import java.nio.ByteBuffer;

/**
 * Turns an encoded group into its datagrams in carousel order, each built and sealed in one reused
 * buffer and handed to a {@link Out} (the socket, or a simulation). One thread.
 */
final class Emitter {
  /** Takes one sealed datagram (position 0 to limit), valid during the call. */
  @FunctionalInterface
  interface Out {
    void datagram(ByteBuffer d) throws Exception;
  }

  private final Carousel carousel;
  private final StreamLayout layout;
  private final SessionKeys keys;
  private final Datagram mac;
  private final ByteBuffer buf;
  private int sequence;

  Emitter(Carousel carousel, SessionKeys keys) {
    this.carousel = carousel;
    this.layout = carousel.layout();
    this.keys = keys;
    this.mac = new Datagram(keys);
    this.buf = ByteBuffer.allocateDirect(Datagram.length(layout.symbolSize()));
  }

  void emit(EncodedGroup g, Out out) throws Exception {
    int size = layout.symbolSize();
    carousel.schedule(
        g.group,
        g.parity,
        g.rotation,
        (block, index) -> {
          buf.clear();
          Datagram.header(buf, keys, sequence++, g.loop, block, layout.blockK(block), index, size);
          buf.put(Datagram.HEADER, g.array(block, index), g.offset(block, index), size);
          mac.seal(buf, size);
          out.datagram(buf);
        });
  }
}
