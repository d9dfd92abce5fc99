package dev.imprint.engine.source;

import dev.imprint.engine.container.Containers;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.source.Magic.Format;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A disk read front to back out of a byte stream: a pipe, or a compressed raw image decoded on the
 * fly. Decoder failures name the source, the format and how far decoding got.
 */
public final class DecodedDisk implements SequentialDisk {
  /** Compressed input is read in large pieces: decoders ask for a few KiB at a time. */
  static final int INPUT_BUFFER = 1 << 20;

  private static final int COPY_BUFFER = 1 << 20;

  private final String description;
  private final Format format;
  private final OptionalLong size;
  private final CountingInput input;
  private final InputStream decoded;
  private long position;
  private byte[] copyBuffer;
  private final byte[] tail = new byte[Containers.TRAILER_LENGTH];
  private int tailLength;

  private DecodedDisk(
      String description, Format format, OptionalLong size, CountingInput input, InputStream in) {
    this.description = description;
    this.format = format;
    this.size = size;
    this.input = input;
    this.decoded = in;
  }

  /**
   * Decodes {@code in} as {@code format}; the stream is closed with this disk.
   *
   * @param size the decoded size if known up front, e.g. a raw file behind a pipe
   */
  public static DecodedDisk open(
      String description, InputStream in, Format format, OptionalLong size) throws IOException {
    if (format == Format.IMPRINT) {
      throw new IllegalArgumentException("an Imprint image is not a raw disk stream");
    }
    CountingInput input = new CountingInput(buffered(in));
    try {
      return new DecodedDisk(description, format, size, input, Sources.decoderFor(format, input));
    } catch (IOException e) {
      input.close();
      throw failure(description, format, 0, input, e);
    } catch (RuntimeException e) {
      input.close();
      throw e;
    }
  }

  private static InputStream buffered(InputStream in) {
    return in instanceof BufferedInputStream ? in : new BufferedInputStream(in, INPUT_BUFFER);
  }

  public Format format() {
    return format;
  }

  /** Decoded bytes delivered so far. */
  public long position() {
    return position;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public OptionalLong size() {
    return size;
  }

  @Override
  public int readFully(ByteBuffer dst) throws IOException {
    int total = 0;
    while (dst.hasRemaining()) {
      int n = readSome(dst);
      if (n < 0) {
        refuseTrailer();
        break;
      }
      keepTail(dst, dst.position() - n, n);
      total += n;
      position += n;
    }
    return total;
  }

  /** Keeps the last bytes delivered, for {@link #refuseTrailer} at the end. */
  private void keepTail(ByteBuffer dst, int from, int n) {
    if (n >= tail.length) {
      dst.get(from + n - tail.length, tail, 0, tail.length);
      tailLength = tail.length;
      return;
    }
    int keep = Math.min(tailLength, tail.length - n);
    System.arraycopy(tail, tailLength - keep, tail, 0, keep);
    dst.get(from, tail, keep, n);
    tailLength = keep + n;
  }

  /**
   * A .dmg or a fixed VHD read front to back looks like a raw disk until its last 512 bytes: then
   * it must fail, never pass for a disk (the target is left not looking valid, as after any failed
   * restore).
   */
  private void refuseTrailer() throws ImageFormatException {
    Optional<String> container = Containers.trailerIn(tail, tailLength);
    if (container.isPresent()) {
      throw new ImageFormatException(
          description
              + " is a "
              + container.get()
              + " container (its trailer came at the end of the stream), which is read at random:"
              + " give it as a file, or as an http(s) URL with range support");
    }
  }

  private int readSome(ByteBuffer dst) throws IOException {
    try {
      if (dst.hasArray()) {
        int n = decoded.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
        if (n > 0) {
          dst.position(dst.position() + n);
        }
        return n;
      }
      if (copyBuffer == null) {
        copyBuffer = new byte[COPY_BUFFER];
      }
      int n = decoded.read(copyBuffer, 0, Math.min(copyBuffer.length, dst.remaining()));
      if (n > 0) {
        dst.put(copyBuffer, 0, n);
      }
      return n;
    } catch (IOException | RuntimeException e) {
      // lz4-java and others report corrupt data with unchecked exceptions.
      throw failure(description, format, position, input, e);
    }
  }

  private static IOException failure(
      String description, Format format, long position, CountingInput input, Exception e) {
    InputFailure failure = inputFailureIn(e);
    if (failure != null) {
      IOException cause = failure.cause();
      if (cause instanceof ImageFormatException damage) {
        // The input found its own damage (a zip entry's size or CRC32): it stays damage.
        return damage;
      }
      return new IOException(
          description
              + ": read failed at byte "
              + failure.offset()
              + (format.isCompressed() ? " of the " + format.label() + " data" : "")
              + ": "
              + cause.getMessage(),
          cause);
    }
    String detail;
    if (e instanceof EOFException && e.getMessage() == null) {
      detail = "the data ends early"; // xz and gzip say no more than "EOFException"
    } else {
      detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
    return new IOException(
        description
            + ": "
            + format.label()
            + " data is corrupt or truncated at decoded byte "
            + position
            + " (compressed byte "
            + input.count()
            + "): "
            + detail,
        e);
  }

  /** Decoders may wrap what the input threw; look down the cause chain. */
  private static InputFailure inputFailureIn(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof InputFailure failure) {
        return failure;
      }
    }
    return null;
  }

  @Override
  public void close() throws IOException {
    decoded.close();
  }

  /** Counts compressed bytes and tags their read errors, so they aren't blamed on the data. */
  private static final class CountingInput extends FilterInputStream {
    private long count;

    CountingInput(InputStream in) {
      super(in);
    }

    long count() {
      return count;
    }

    @Override
    public int read() throws IOException {
      try {
        int b = in.read();
        if (b >= 0) {
          count++;
        }
        return b;
      } catch (IOException e) {
        throw new InputFailure(count, e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        int n = in.read(b, off, len);
        if (n > 0) {
          count += n;
        }
        return n;
      } catch (IOException e) {
        throw new InputFailure(count, e);
      }
    }

    @Override
    public long skip(long n) throws IOException {
      try {
        long skipped = in.skip(n);
        count += skipped;
        return skipped;
      } catch (IOException e) {
        throw new InputFailure(count, e);
      }
    }

    @Override
    public boolean markSupported() {
      return false; // a reset would break the count
    }
  }

  private static final class InputFailure extends IOException {
    private final long offset;

    InputFailure(long offset, IOException cause) {
      super(cause.getMessage(), cause);
      this.offset = offset;
    }

    long offset() {
      return offset;
    }

    IOException cause() {
      return (IOException) getCause();
    }
  }
}
