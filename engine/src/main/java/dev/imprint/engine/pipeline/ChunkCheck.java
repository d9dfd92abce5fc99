package dev.imprint.engine.pipeline;

import java.io.IOException;

/**
 * A check of a raw disk's chunks in disk order, run on each before it leaves the supply, so a chunk
 * that fails it is never written: a bmap's range checksums.
 */
public interface ChunkCheck {
  /**
   * Looks at the next chunk (in disk order, no gaps) before it is handed on.
   *
   * @throws IOException the bytes are wrong; the supply fails with it
   */
  void check(Chunk c) throws IOException;

  /** The disk ended after {@code size} bytes (called for streams, before their last chunk). */
  default void end(long size) throws IOException {}
}
