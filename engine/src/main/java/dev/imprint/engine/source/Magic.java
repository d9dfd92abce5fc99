package dev.imprint.engine.source;

import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.Trailer;

/**
 * Content sniffing by magic bytes. File names lie ({@code disk.img} may well be xz); the first
 * bytes don't.
 */
public final class Magic {
  /** Bytes {@link #sniff} looks at; fewer are fine for short inputs. */
  public static final int HEAD_LENGTH = 8;

  /** What a byte stream holds, judged by its first bytes. */
  public enum Format {
    IMPRINT("Imprint image"),
    GZIP("gzip"),
    XZ("xz"),
    ZSTD("zstd"),
    BZIP2("bzip2"),
    LZ4("lz4"),
    RAW("raw");

    private final String label;

    Format(String label) {
      this.label = label;
    }

    /** The name used in messages: "xz data is corrupt". */
    public String label() {
      return label;
    }

    public boolean isCompressed() {
      return this != IMPRINT && this != RAW;
    }
  }

  private static final byte[] IMPRINT = {'I', 'M', 'P', 'R', 'I', 'N', 'T', 0};
  private static final byte[] GZIP = {0x1f, (byte) 0x8b};
  private static final byte[] XZ = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};
  private static final byte[] ZSTD = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
  private static final byte[] LZ4 = {0x04, 0x22, 0x4d, 0x18};

  private Magic() {}

  /**
   * Whether a file is an Imprint image, damaged or not, judged only at the places the format fixes:
   * its first bytes (the header magic, at most two bytes changed) and its last 80 (a trailer). A
   * raw disk may hold .imprint files anywhere else.
   *
   * @param head the file's first bytes
   * @param tail the file's last {@link #TAIL_LENGTH} bytes, or fewer if it is shorter
   * @param size the file's size
   */
  public static boolean isImprint(byte[] head, int headLength, byte[] tail, long size) {
    return sniff(head, headLength) == Format.IMPRINT || Trailer.resembles(tail, size);
  }

  /** Bytes at a file's end that {@link #isImprint} looks at: an image trailer. */
  public static final int TAIL_LENGTH = Trailer.LENGTH;

  /**
   * Names the format of a stream from its first {@code len} bytes. Anything unrecognised is {@link
   * Format#RAW}: a disk can start with any bytes at all.
   */
  public static Format sniff(byte[] head, int len) {
    // A damaged Imprint image is still one: it must reach the image reader, never be a raw disk.
    if (startsWith(head, len, IMPRINT)
        || (len >= IMPRINT.length && ImageHeader.resemblesMagic(head))) {
      return Format.IMPRINT;
    }
    if (startsWith(head, len, XZ)) {
      return Format.XZ;
    }
    if (startsWith(head, len, ZSTD) || isSkippableFrame(head, len)) {
      return Format.ZSTD;
    }
    if (startsWith(head, len, LZ4)) {
      return Format.LZ4;
    }
    if (len >= 4 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h') {
      if (head[3] >= '1' && head[3] <= '9') {
        return Format.BZIP2;
      }
    }
    // Two bytes alone would also match a disk that happens to start 1F 8B; require the deflate
    // method byte (8) that every gzip stream carries.
    if (startsWith(head, len, GZIP) && len >= 3 && head[2] == 8) {
      return Format.GZIP;
    }
    return Format.RAW;
  }

  /**
   * Skippable frames (magic 0x184D2A50..5F, little-endian) may open a zstd stream, e.g. seekable
   * zstd. lz4 shares the range; zstd is by far the likelier writer, and zstd skips them too.
   */
  private static boolean isSkippableFrame(byte[] head, int len) {
    return len >= 4
        && (head[0] & 0xf0) == 0x50
        && head[1] == 0x2a
        && head[2] == 0x4d
        && head[3] == 0x18;
  }

  private static boolean startsWith(byte[] head, int len, byte[] magic) {
    if (len < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if (head[i] != magic[i]) {
        return false;
      }
    }
    return true;
  }
}
