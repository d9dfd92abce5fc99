package dev.imprint.engine.source;

import java.io.Closeable;

/**
 * The bytes of a logical disk (or volume) that {@code create} reads or a direct clone copies. The
 * shape says how it can be read: at any offset, or only front to back. (Unordered sources such as a
 * multicast receiver deliver image chunks, not raw disk bytes, and live with the image readers.)
 * {@link Sources#open} picks the right one for what the user typed.
 */
public sealed interface DiskSource extends Closeable permits RandomAccessDisk, SequentialDisk {
  /** What this is, for messages and the image header: a path, "standard input", a URL. */
  String description();
}
