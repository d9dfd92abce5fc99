package dev.imprint.engine.multicast;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Fills a block's source symbols from the stored chunks they come from (a block spans chunk
 * boundaries; a chunk's last symbol is padded with zeros). Keeps the last chunk read, since
 * neighbouring blocks share it. One thread.
 */
final class SourceSymbols {
  private final StreamLayout layout;
  private final StoredChunks chunks;
  private int cached = -1;
  private byte[] bytes = new byte[0];

  SourceSymbols(StreamLayout layout, StoredChunks chunks) {
    this.layout = layout;
    this.chunks = chunks;
  }

  /** Writes block {@code b}'s k source symbols end to end into {@code dst} from 0. */
  void fill(int b, byte[] dst) throws IOException {
    int s = layout.symbolSize();
    int k = layout.blockK(b);
    int first = layout.blockStart(b);
    Arrays.fill(dst, 0, k * s, (byte) 0);
    for (int c = layout.firstChunkOf(b); c <= layout.lastChunkOf(b); c++) {
      byte[] chunk = chunk(c);
      int from = Math.max(first, layout.firstSymbol(c));
      int to = Math.min(first + k, layout.firstSymbol(c) + layout.symbolsOf(c));
      int srcOff = (from - layout.firstSymbol(c)) * s;
      int len = Math.min((to - from) * s, layout.storedLength(c) - srcOff);
      System.arraycopy(chunk, srcOff, dst, (from - first) * s, len);
    }
  }

  private byte[] chunk(int c) throws IOException {
    if (c != cached) {
      int n = layout.storedLength(c);
      if (bytes.length < n) {
        bytes = new byte[n];
      }
      ByteBuffer dst = ByteBuffer.wrap(bytes, 0, n);
      chunks.read(layout.entryNumber(c), dst);
      if (dst.hasRemaining()) {
        throw new IOException("chunk " + c + " gave " + dst.position() + " of " + n + " bytes");
      }
      cached = c;
    }
    return bytes;
  }
}
