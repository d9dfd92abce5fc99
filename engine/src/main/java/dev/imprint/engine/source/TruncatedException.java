package dev.imprint.engine.source;

import java.io.EOFException;

/**
 * A {@link RandomAccessInput} ended in the middle of a read: it is shorter than what reads it
 * expects. The message names the input and the bytes; an image reader reports it as damage.
 */
public final class TruncatedException extends EOFException {
  private final String where;
  private final long end;
  private final long position;
  private final long length;

  /**
   * @param end where the input ended
   * @param position first byte asked for
   * @param length bytes asked for
   */
  public TruncatedException(String where, long end, long position, long length) {
    super(message(where, end, position, length, "it is truncated"));
    this.where = where;
    this.end = end;
    this.position = position;
    this.length = length;
  }

  /** The same message ending in {@code consequence}, e.g. "the image is truncated". */
  public String message(String consequence) {
    return message(where, end, position, length, consequence);
  }

  private static String message(
      String where, long end, long position, long length, String consequence) {
    return where
        + " ends at byte "
        + end
        + " in the middle of a read (bytes "
        + position
        + "-"
        + (position + length - 1)
        + "): "
        + consequence;
  }
}
