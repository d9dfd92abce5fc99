package dev.imprint.engine.source;

import com.github.luben.zstd.ZstdInputStream;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.container.Containers;
import dev.imprint.engine.container.zip.ZipImage;
import dev.imprint.engine.device.FileKind;
import dev.imprint.engine.source.Magic.Format;
import java.io.BufferedInputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import net.jpountz.lz4.LZ4FrameInputStream;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.tukaani.xz.SeekableFileInputStream;
import org.tukaani.xz.SeekableXZInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * The one way in: turns what the user typed ("-", a file, a device, a named pipe) into a {@link
 * DiskSource} of the right shape, judging compression by content, never by file name.
 */
public final class Sources {
  /** The spec for standard input. */
  public static final String STDIN = "-";

  private static final String STDIN_DESCRIPTION = "standard input";

  /**
   * Pipes that {@link #detect} has peeked into, kept for {@link #open}: their bytes cannot be read
   * twice.
   */
  private static final Map<String, Pipe> PEEKED_PIPES = new ConcurrentHashMap<>();

  /** A pipe opened for reading, with the raw size when it is a redirected file. */
  private record Pipe(BufferedInputStream in, OptionalLong rawSize) {}

  private Sources() {}

  /**
   * What {@code spec} holds, without consuming it: files are read at offset 0 and closed, pipes
   * (standard input included) are peeked and kept for a later {@link #open}. Block devices are
   * {@link Format#RAW} by definition. Lets a caller send Imprint images to the image reader and
   * everything else here.
   */
  public static Format detect(String spec) throws IOException {
    if (spec.equals(STDIN)) {
      return sniffPeeked(peekedPipe(spec).in());
    }
    Path path = Path.of(spec);
    return switch (kind(path)) {
      case BLOCK_DEVICE -> Format.RAW;
      case PIPE -> sniffPeeked(peekedPipe(spec).in());
      case REGULAR_FILE -> {
        try (FileChannel channel = openFile(path)) {
          yield sniff(channel, spec);
        }
      }
    };
  }

  /**
   * Opens {@code spec} as a disk: "-" is standard input, a block device is read whole, a regular
   * file is read in place when raw and decoded front to back when compressed, a named pipe is read
   * like standard input.
   *
   * @throws SourceException the source is missing, unreadable, the wrong kind of file, or an
   *     Imprint image (which is restored, not read as a raw disk); the message says what to do
   */
  public static DiskSource open(String spec) throws IOException {
    if (spec.equals(STDIN)) {
      return openPipe(spec, STDIN_DESCRIPTION);
    }
    Path path = Path.of(spec);
    return switch (kind(path)) {
      case BLOCK_DEVICE -> BlockDisk.open(path);
      case PIPE -> openPipe(spec, spec);
      case REGULAR_FILE -> openFile(spec, path);
    };
  }

  /**
   * Wraps {@code in} in the decoder for {@code format}; concatenated gzip members and xz, zstd,
   * bzip2 and lz4 frames are read as one stream, as their command-line tools do. {@link Format#RAW}
   * passes bytes through. The caller should hand in a buffered stream: decoders read a few KiB at a
   * time.
   */
  public static InputStream decoderFor(Format format, InputStream in) throws IOException {
    return switch (format) {
      case RAW -> in;
      case GZIP ->
          GzipCompressorInputStream.builder()
              .setInputStream(in)
              .setDecompressConcatenated(true)
              .get();
      case XZ -> new XZInputStream(in);
      // Not "continuous" mode: that would turn a truncated frame into a silent end of stream.
      case ZSTD -> new ZstdInputStream(in);
      case BZIP2 -> new BZip2CompressorInputStream(in, true);
      case LZ4 -> new LZ4FrameInputStream(in);
      case IMPRINT ->
          throw new IllegalArgumentException(
              "an Imprint image is read by the image reader, not decoded as a stream");
    };
  }

  private static DiskSource openFile(String spec, Path path) throws IOException {
    FileChannel channel = openFile(path);
    try {
      Format format = sniff(channel, spec);
      if (format == Format.IMPRINT) {
        throw notADisk(spec);
      }
      if (format == Format.RAW && isZip(channel)) {
        channel.close();
        return openZip(FileDisk.open(path));
      }
      // Before compression: a container may start with any bytes (a .dmg with "BZh").
      Optional<ContainerDisk> container = openContainer(path);
      if (container.isPresent()) {
        channel.close();
        return container.get();
      }
      if (format == Format.RAW) {
        channel.close();
        return FileDisk.open(path);
      }
      OptionalLong size = format == Format.XZ ? xzSize(path) : OptionalLong.empty();
      channel.position(0);
      return DecodedDisk.open(spec, Channels.newInputStream(channel), format, size);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /**
   * The foreign container in a regular file, opened with its tables checked, if the file holds one.
   *
   * @throws dev.imprint.engine.image.ImageDamagedException it holds a damaged one
   * @throws dev.imprint.engine.container.ContainerRefusedException one Imprint will not read
   */
  public static Optional<ContainerDisk> openContainer(Path path) throws IOException {
    RandomAccessDisk file = FileDisk.open(path);
    Optional<ContainerDisk> container;
    try {
      if (ZipImage.recognizes(file)) {
        // A container stored in a zip is read in place; a deflated one only front to back.
        if (!(ZipImage.unzip(file) instanceof ZipImage.Stored stored)) {
          file.close();
          return Optional.empty();
        }
        file = stored.disk();
      }
      container = Containers.open(file);
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e;
    }
    if (container.isEmpty()) {
      file.close();
    }
    return container;
  }

  /**
   * The image a zip archive holds, opened as the file unzipping would give is: a stored one read in
   * place (raw, a container, compressed), a deflated one front to back. The disk owns {@code
   * archive}; on failure it is closed.
   */
  public static DiskSource openZip(RandomAccessDisk archive) throws IOException {
    ZipImage.Entry entry = ZipImage.unzip(archive);
    try {
      if (entry instanceof ZipImage.Deflated d) {
        BufferedInputStream in = new BufferedInputStream(d.stream(), DecodedDisk.INPUT_BUFFER);
        return decodePipe(new Pipe(in, OptionalLong.of(d.zip().size())), d.zip().description());
      }
      return openInput(((ZipImage.Stored) entry).disk());
    } catch (IOException | RuntimeException e) {
      entry.close();
      throw e;
    }
  }

  /** Whether an input read at random holds an Imprint image, by its header or its trailer. */
  public static boolean isImprint(RandomAccessInput in) throws IOException {
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(Magic.HEAD_LENGTH, in.size()));
    in.readFully(head, 0);
    ByteBuffer tail = ByteBuffer.allocate((int) Math.min(Magic.TAIL_LENGTH, in.size()));
    in.readFully(tail, in.size() - tail.capacity());
    return Magic.isImprint(head.array(), head.capacity(), tail.array(), in.size());
  }

  /** Whether a regular file is a zip archive (that {@link #openZip} opens). */
  public static boolean isZip(Path path) throws IOException {
    try (FileChannel channel = openFile(path)) {
      return isZip(channel);
    }
  }

  private static boolean isZip(FileChannel channel) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(4);
    int n = FileDisk.readAt(channel, head, 0);
    return ZipImage.recognizesHead(head.array(), n);
  }

  /**
   * A disk in an input read at random (a stored zip entry), sniffed as a file is; the disk owns
   * {@code in}.
   */
  public static DiskSource openInput(RandomAccessDisk in) throws IOException {
    if (in.size() == 0) {
      throw new SourceException(in.description() + " is empty: there is no disk in it");
    }
    if (isImprint(in)) {
      throw notADisk(in.description());
    }
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(Magic.HEAD_LENGTH, in.size()));
    in.readFully(head, 0);
    Format format = Magic.sniff(head.array(), head.capacity());
    Optional<ContainerDisk> container = Containers.open(in);
    if (container.isPresent()) {
      return container.get();
    }
    if (format == Format.RAW) {
      return in;
    }
    return DecodedDisk.open(
        in.description(), ZipImage.sequential(in), format, OptionalLong.empty());
  }

  private static DiskSource openPipe(String spec, String description) throws IOException {
    Pipe pipe = PEEKED_PIPES.remove(spec);
    return decodePipe(pipe != null ? pipe : openPipeStream(spec), description);
  }

  private static DiskSource decodePipe(Pipe pipe, String description) throws IOException {
    BufferedInputStream in = pipe.in();
    try {
      byte[] head = peek(in);
      if (head.length == 0) {
        throw new SourceException(description + " is empty: there is no disk to read");
      }
      Format format = Magic.sniff(head, head.length);
      if (format == Format.IMPRINT) {
        throw notADisk(description);
      }
      if (ZipImage.recognizesHead(head, head.length)) {
        return openStream(description, ZipImage.streamed(description, in));
      }
      Optional<SequentialDisk> container = containerStream(description, in);
      if (container.isPresent()) {
        return container.get();
      }
      return DecodedDisk.open(
          description, in, format, format == Format.RAW ? pipe.rawSize() : OptionalLong.empty());
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
  }

  /**
   * Opens a stream the caller already has (standard input as the command received it) as a disk,
   * sniffing its format like any pipe.
   */
  public static DiskSource openStream(String description, InputStream stream) throws IOException {
    BufferedInputStream in =
        stream instanceof BufferedInputStream b
            ? b
            : new BufferedInputStream(stream, DecodedDisk.INPUT_BUFFER);
    return decodePipe(new Pipe(in, OptionalLong.empty()), description);
  }

  /**
   * A foreign container arriving as a stream (a pipe, a GET without ranges), recognised by its
   * first bytes: decoded front to back when its format allows, else refused with what to do. Empty
   * when the stream holds no container; its bytes are left in place either way.
   *
   * @param in a stream that supports mark/reset of {@link Containers#PROBE_LENGTH} bytes
   */
  public static Optional<SequentialDisk> containerStream(String description, InputStream in)
      throws IOException {
    byte[] head = peek(in, Containers.PROBE_LENGTH);
    Optional<ContainerFormat> f = Containers.recognizeHead(head, head.length);
    if (f.isEmpty()) {
      return Optional.empty();
    }
    if (!f.get().streamable()) {
      throw new SourceException(
          description
              + " is a "
              + f.get().name()
              + " container, which is read at random (its tables first), not front to back:"
              + " download it to a file first, or serve it over http(s) with range support");
    }
    return Optional.of(f.get().openStream(description, in));
  }

  private static Format sniffPeeked(BufferedInputStream in) throws IOException {
    byte[] head = peek(in);
    return Magic.sniff(head, head.length);
  }

  private static Pipe peekedPipe(String spec) throws IOException {
    Pipe pipe = PEEKED_PIPES.get(spec);
    if (pipe == null) {
      pipe = openPipeStream(spec);
      PEEKED_PIPES.put(spec, pipe);
    }
    return pipe;
  }

  private static Pipe openPipeStream(String spec) throws IOException {
    InputStream raw;
    OptionalLong rawSize = OptionalLong.empty();
    if (spec.equals(STDIN)) {
      // Measure before the first buffered read moves the file position.
      rawSize = stdinSize();
      raw = new FileInputStream(FileDescriptor.in);
    } else {
      try {
        raw = new FileInputStream(spec);
      } catch (IOException e) {
        throw new SourceException("cannot read source " + spec + ": " + e.getMessage(), e);
      }
    }
    return new Pipe(new BufferedInputStream(raw, DecodedDisk.INPUT_BUFFER), rawSize);
  }

  /** The first bytes of a stream, left in place for the decoder. */
  private static byte[] peek(InputStream in) throws IOException {
    return peek(in, Magic.HEAD_LENGTH);
  }

  private static byte[] peek(InputStream in, int length) throws IOException {
    byte[] head = new byte[length];
    in.mark(head.length);
    int n = 0;
    while (n < head.length) {
      int r = in.read(head, n, head.length - n);
      if (r < 0) {
        break;
      }
      n += r;
    }
    in.reset();
    return n == head.length ? head : Arrays.copyOf(head, n);
  }

  /**
   * The format of a file; an Imprint image is recognised by its header or its trailer, so a damaged
   * one is never taken for a raw disk. An empty file is refused: there is nothing to restore.
   */
  private static Format sniff(FileChannel channel, String spec) throws IOException {
    long size = channel.size();
    if (size == 0) {
      throw new SourceException(
          "source " + spec + " is empty: there is no disk in it (give an image or a disk)");
    }
    ByteBuffer head = ByteBuffer.allocate(Magic.HEAD_LENGTH);
    int n = FileDisk.readAt(channel, head, 0);
    Format format = Magic.sniff(head.array(), n);
    if (format != Format.RAW || size < Magic.TAIL_LENGTH) {
      return format;
    }
    ByteBuffer tail = ByteBuffer.allocate(Magic.TAIL_LENGTH);
    FileDisk.readAt(channel, tail, size - Magic.TAIL_LENGTH);
    return Magic.isImprint(head.array(), n, tail.array(), size) ? Format.IMPRINT : Format.RAW;
  }

  /** Standard input redirected from a raw file has a known size; a pipe doesn't. */
  private static OptionalLong stdinSize() {
    try {
      Path stdin = Path.of("/proc/self/fd/0");
      if (FileKind.of(stdin) != FileKind.REGULAR_FILE) {
        return OptionalLong.empty();
      }
      FileChannel channel = new FileInputStream(FileDescriptor.in).getChannel();
      return OptionalLong.of(Math.max(0, channel.size() - channel.position()));
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty(); // only a hint for progress; decoding works without it
    }
  }

  /** The xz index at the end of the file gives the decoded size for the cost of a seek. */
  private static OptionalLong xzSize(Path path) {
    try (SeekableXZInputStream xz =
        new SeekableXZInputStream(new SeekableFileInputStream(path.toFile()))) {
      return OptionalLong.of(xz.length());
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty(); // a broken index shows up, clearly worded, when decoding
    }
  }

  /** The kinds a source may be; anything else is refused with what to give instead. */
  private enum Kind {
    REGULAR_FILE,
    BLOCK_DEVICE,
    PIPE
  }

  private static Kind kind(Path path) throws SourceException {
    FileKind kind;
    try {
      kind = FileKind.of(path);
    } catch (AccessDeniedException e) {
      throw new SourceException(
          "cannot read source " + path + ": permission denied on a folder above it", e);
    } catch (IOException e) {
      throw new SourceException("cannot look at source " + path + ": " + e.getMessage(), e);
    }
    return switch (kind) {
      case REGULAR_FILE -> Kind.REGULAR_FILE;
      case BLOCK_DEVICE -> Kind.BLOCK_DEVICE;
      case PIPE -> Kind.PIPE;
      case MISSING ->
          throw new SourceException("source " + path + " does not exist: check the path");
      case DIRECTORY ->
          throw new SourceException(
              "source " + path + " is a directory: give an image file or a block device");
      case CHARACTER_DEVICE ->
          throw new SourceException(
              "source "
                  + path
                  + " is a character device, not a disk: give an image file or a block device");
      case OTHER ->
          throw new SourceException(
              "source " + path + " is not a file or a disk: give an image file or a block device");
    };
  }

  private static FileChannel openFile(Path path) throws SourceException {
    try {
      return FileChannel.open(path, StandardOpenOption.READ);
    } catch (AccessDeniedException e) {
      throw new SourceException(
          "cannot read source " + path + ": permission denied (check its permissions)", e);
    } catch (IOException e) {
      throw new SourceException("cannot read source " + path + ": " + e.getMessage(), e);
    }
  }

  private static SourceException notADisk(String description) {
    return new SourceException(
        description
            + " is an Imprint image, not a raw disk: restore it as an image instead of reading it as"
            + " a source");
  }
}
