package dev.imprint.engine.container.zip;

import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.TruncatedException;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A zip archive holding one disk image, as Etcher and many download pages ship them: the one file
 * in it is the image. A stored entry is a slice of the archive, read at random like the file it
 * would be unzipped to; a deflated entry is inflated front to back. Anything else (several files,
 * encryption, other compression methods) is refused with what to do.
 *
 * @param name the entry's name in the archive
 * @param method {@link #STORED} or {@link #DEFLATED}
 * @param dataOffset where the entry's (compressed) bytes start in the archive
 * @param compressedSize bytes of it in the archive
 * @param size bytes it unzips to
 * @param crc its CRC32, as the central directory records it
 */
public record ZipImage(
    String where,
    String name,
    int method,
    long dataOffset,
    long compressedSize,
    long size,
    int crc) {
  public static final int STORED = 0;
  public static final int DEFLATED = 8;

  static final int LOCAL = 0x04034b50;
  static final int CENTRAL = 0x02014b50;
  static final int END = 0x06054b50;
  static final int END64 = 0x06064b50;
  static final int END64_LOCATOR = 0x07064b50;
  static final int END_LENGTH = 22;
  static final int MAX_COMMENT = 0xffff;

  /** More central directory than this is not one image's archive. */
  static final long MAX_DIRECTORY = 16L << 20;

  /** Names listed in a refusal; an archive of thousands is summarised. */
  private static final int LISTED = 10;

  /** Whether {@code in} is a zip archive: a local file header or an empty archive's end first. */
  public static boolean recognizes(RandomAccessInput in) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) Math.min(4, in.size()));
    in.readFully(b, 0);
    return recognizesHead(b.array(), b.capacity());
  }

  /** Whether a file's or a stream's first bytes are a zip archive's. */
  public static boolean recognizesHead(byte[] head, int length) {
    if (length < 4) {
      return false;
    }
    int magic = ByteBuffer.wrap(head, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    return magic == LOCAL || magic == END;
  }

  /** {@code in} front to back as a stream; closing the stream closes {@code in}. */
  public static InputStream sequential(RandomAccessInput in) {
    return new BulkInput() {
      private long at;

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (at >= in.size()) {
          return -1;
        }
        int n = in.read(ByteBuffer.wrap(b, off, (int) Math.min(len, in.size() - at)), at);
        at += n;
        return n;
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    };
  }

  /**
   * The one image in the archive {@code in}, its directory checked.
   *
   * @throws ContainerRefusedException not exactly one file, encrypted, or a method other than
   *     stored or deflated
   * @throws ImageDamagedException the archive's structure is wrong
   */
  public static ZipImage open(RandomAccessInput in) throws IOException {
    String where = in.description();
    try {
      return ZipDirectory.read(in, where).single();
    } catch (TruncatedException e) {
      throw new ImageDamagedException(e.message("the zip archive is truncated (copy it again)"));
    }
  }

  /** The image a zip archive holds, owning the archive: closing it closes the archive. */
  public sealed interface Entry extends Closeable {}

  /** A stored image, read in place at random, as the file unzipping would give. */
  public record Stored(ZipImage zip, RandomAccessDisk disk) implements Entry {
    @Override
    public void close() throws IOException {
      disk.close();
    }
  }

  /**
   * A deflated image, inflated front to back; the stream fails as damage unless it comes to {@link
   * ZipImage#size} bytes with the CRC32 the archive records.
   */
  public record Deflated(ZipImage zip, InputStream stream) implements Entry {
    @Override
    public void close() throws IOException {
      stream.close();
    }
  }

  /**
   * The one image in {@code archive}, which it then owns; on failure the archive is closed.
   *
   * @throws ContainerRefusedException not exactly one file, encrypted, or another method
   * @throws ImageDamagedException the archive's structure is wrong
   */
  public static Entry unzip(RandomAccessDisk archive) throws IOException {
    try {
      ZipImage z = open(archive);
      if (z.method() == STORED) {
        return new Stored(
            z, new OwnedDisk(archive.slice(z.description(), z.dataOffset(), z.size()), archive));
      }
      return new Deflated(
          z,
          new EntryStream(
              z, archive.slice(z.description(), z.dataOffset(), z.compressedSize()), archive));
    } catch (IOException | RuntimeException e) {
      archive.close();
      throw e;
    }
  }

  /**
   * The one image in a zip archive arriving as a stream, inflated as it arrives; closing it closes
   * {@code in}.
   */
  public static InputStream streamed(String where, InputStream in) throws IOException {
    return ZipStream.open(where, in);
  }

  /** How messages name the image: "disk.img in image.zip". */
  public String description() {
    return name + " in " + where;
  }

  static ImageDamagedException damaged(String where, String what) {
    return new ImageDamagedException(where + ": " + what + ": the zip archive is damaged");
  }

  static ContainerRefusedException notOneImage(String where, List<String> names, long count) {
    if (count == 0) {
      return new ContainerRefusedException(
          where + " is a zip archive with no file in it: there is no image to restore");
    }
    List<String> shown = new ArrayList<>(names.subList(0, (int) Math.min(LISTED, names.size())));
    if (count > shown.size()) {
      shown.add("and " + (count - shown.size()) + " more");
    }
    return new ContainerRefusedException(
        where
            + " is a zip archive of "
            + (count < 0 ? "several" : Long.toString(count))
            + " files ("
            + String.join(", ", shown)
            + "), not of one image: unzip it and give the image file");
  }

  static String name(ByteBuffer b, int at, int length, boolean utf8) {
    byte[] n = new byte[length];
    b.get(at, n);
    // Without the UTF-8 flag names are in the archiver's code page; ISO-8859-1 keeps every byte.
    return new String(n, utf8 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1)
        .replace('\n', '?');
  }
}
