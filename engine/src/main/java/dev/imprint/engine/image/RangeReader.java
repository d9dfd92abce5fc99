package dev.imprint.engine.image;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Random access to the bytes of an image file, wherever it lives (local file, HTTP ranges). */
public interface RangeReader extends Closeable {
  long length();

  /** Fills dst from {@code position}; fails if the image ends first. */
  void readFully(ByteBuffer dst, long position) throws IOException;

  String description();
}
