package dev.imprint.engine.multicast;

import dev.imprint.engine.fec.ReedSolomon;

/**
 * How a stream cuts the image into symbols and FEC blocks, and the parity bounds the carousel keeps
 * to. The receiver needs {@code symbolSize} and {@code blockSymbols} (from the handshake) to lay
 * out the stream as the sender does; the rest is the sender's.
 *
 * @param symbolSize payload bytes per datagram, a multiple of 8 (1416, the default, fills a
 *     1500-byte MTU)
 * @param blockSymbols source symbols per FEC block at most (k)
 * @param interleave FEC blocks whose symbols are sent interleaved against burst loss
 * @param minParity parity symbols per block and loop, at least
 * @param maxParity parity symbols per block and loop, at most
 * @param parity parity symbols per block and loop at the start
 */
public record StreamParams(
    int symbolSize, int blockSymbols, int interleave, int minParity, int maxParity, int parity) {
  /** Largest UDP payload that crosses a 1500-byte Ethernet MTU without fragmentation (IPv4). */
  public static final int MAX_DATAGRAM = 1472;

  public static final StreamParams DEFAULT = new StreamParams(1416, 100, 16, 2, 50, 10);

  public StreamParams {
    if (symbolSize < 8 || symbolSize % 8 != 0 || Datagram.length(symbolSize) > 65507) {
      throw new IllegalArgumentException(
          "the symbol size is a multiple of 8 from 8 to 65448 bytes, not " + symbolSize);
    }
    ReedSolomon.checkK(blockSymbols);
    if (interleave < 1) {
      throw new IllegalArgumentException("interleave at least 1 block, not " + interleave);
    }
    if (minParity < 0
        || maxParity < minParity
        || blockSymbols + maxParity > ReedSolomon.MAX_SYMBOLS
        || parity < minParity
        || parity > maxParity) {
      throw new IllegalArgumentException(
          "parity "
              + minParity
              + " <= "
              + parity
              + " <= "
              + maxParity
              + " with "
              + blockSymbols
              + " source symbols must keep source + parity <= 256");
    }
  }

  /** The same with {@code symbolSize} fitted to a path MTU (IPv4 and UDP headers taken off). */
  public static int symbolSizeFor(int mtu) {
    int s = (mtu - 28 - Datagram.OVERHEAD) / 8 * 8;
    if (s < 8) {
      throw new IllegalArgumentException("an MTU of " + mtu + " bytes leaves no room for data");
    }
    return s;
  }
}
