package dev.imprint.engine.source;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Bytes readable at any offset, whatever holds them: a file, a block device, an HTTP(S) server with
 * range support, a partition of any of these ({@link #slice}), and next a foreign container (qcow2,
 * VHD, UDIF), which will be a {@link RandomAccessDisk} reading its own file through one of these.
 * Every random read in the engine goes through this type: Imprint images are opened over it,
 * partition tables and filesystems are read through it.
 *
 * <p>Implementations are safe for concurrent positional reads.
 */
public interface RandomAccessInput extends Closeable {
  /** Bytes readable, fixed when opened. */
  long size();

  /** What this is, for messages: a path, a URL without credentials, "partition 2 of …". */
  String description();

  /**
   * Reads into {@code dst} from {@code position} until dst is full or the input ends; reads nothing
   * at or past the end.
   *
   * @return bytes read: fewer than asked only where the input ends
   */
  int read(ByteBuffer dst, long position) throws IOException;

  /**
   * Fills {@code dst} from {@code position}.
   *
   * @throws TruncatedException the input ends first (a file cut short, or shrunk since it was
   *     opened); readers of a format turn this into their own damage
   */
  default void readFully(ByteBuffer dst, long position) throws IOException {
    int want = dst.remaining();
    if (want == 0) {
      return;
    }
    if (position < 0 || position > size() - want) {
      throw new TruncatedException(description(), size(), position, want);
    }
    int got = read(dst, position);
    if (got < want) {
      throw new TruncatedException(description(), position + got, position, want);
    }
  }

  /**
   * The bytes [offset, offset + length) as an input of their own, positions counted from {@code
   * offset}: a partition, or an image's region. Reads go to this input; closing the slice leaves
   * this input open.
   */
  default RandomAccessInput slice(String description, long offset, long length) {
    return new Slice(this, description, offset, length);
  }
}
