package dev.imprint.engine.source;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.OptionalLong;

/** A disk readable only front to back: a pipe, or a compressed raw image being decoded. */
public non-sealed interface SequentialDisk extends DiskSource {
  /** The logical size when known up front (an uncompressed file behind a pipe is not). */
  OptionalLong size();

  /**
   * Reads until {@code dst} is full or the stream ends.
   *
   * @return bytes read; fewer than requested only at the end
   * @throws IOException when the bytes cannot be had; the message names the source and, for
   *     compressed data, the format and how far decoding got
   */
  int readFully(ByteBuffer dst) throws IOException;
}
