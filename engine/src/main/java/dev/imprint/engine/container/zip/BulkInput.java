package dev.imprint.engine.container.zip;

import java.io.IOException;
import java.io.InputStream;

/** A stream that reads in bulk; the single-byte read is one bulk read of one byte. */
abstract class BulkInput extends InputStream {
  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public abstract int read(byte[] b, int off, int len) throws IOException;
}
