package dev.imprint.engine.container.zip;

import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A deflated zip entry inflated front to back. It ends only when the deflate stream does, after
 * exactly the size the directory records with the CRC32 it records: more bytes (a bomb, or a
 * directory that lies), fewer, or other bytes are damage, raised before the last bytes are handed
 * out.
 */
final class EntryStream extends BulkInput {
  private static final int INPUT = 1 << 20;

  private final ZipImage entry;
  private final RandomAccessInput data;
  private final Inflater inflater = new Inflater(true);
  private final CRC32 crc = new CRC32();
  private final byte[] input = new byte[INPUT];
  private long read;
  private long out;
  private boolean done;

  private final Closeable owner;

  EntryStream(ZipImage entry, RandomAccessInput data, Closeable owner) {
    this.entry = entry;
    this.data = data;
    this.owner = owner;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    while (!done) {
      int n;
      try {
        n = inflater.inflate(b, off, len);
      } catch (DataFormatException e) {
        throw damage("its deflate data is corrupt at compressed byte " + position(), e);
      }
      if (n > 0) {
        out += n;
        if (out > entry.size()) {
          throw damage("it inflates to more than the " + entry.size() + " bytes recorded", null);
        }
        crc.update(b, off, n);
        if (inflater.finished()) {
          finish();
        }
        return n;
      }
      if (inflater.finished()) {
        finish();
      } else if (inflater.needsInput()) {
        refill();
      } else if (inflater.needsDictionary()) {
        throw damage("its deflate data asks for a preset dictionary", null);
      }
    }
    return -1;
  }

  private void refill() throws IOException {
    if (read >= data.size()) {
      throw damage("its deflate data ends early, after " + out + " bytes", null);
    }
    int n = (int) Math.min(INPUT, data.size() - read);
    data.readFully(ByteBuffer.wrap(input, 0, n), read);
    read += n;
    inflater.setInput(input, 0, n);
  }

  private long position() {
    return read - inflater.getRemaining();
  }

  /** The deflate stream ended: what it gave must be what the directory records. */
  private void finish() throws IOException {
    done = true;
    if (out != entry.size()) {
      throw damage(
          "it inflates to " + out + " bytes, not the " + entry.size() + " bytes recorded", null);
    }
    if ((int) crc.getValue() != entry.crc()) {
      throw damage(
          String.format(
              "its CRC32 is %08x, not the %08x recorded", (int) crc.getValue(), entry.crc()),
          null);
    }
  }

  private ImageDamagedException damage(String what, Exception cause) {
    ImageDamagedException e =
        new ImageDamagedException(
            entry.description() + ": " + what + ": the zip archive is damaged (copy it again)");
    if (cause != null) {
      e.initCause(cause);
    }
    return e;
  }

  @Override
  public void close() throws IOException {
    inflater.end();
    owner.close();
  }
}
