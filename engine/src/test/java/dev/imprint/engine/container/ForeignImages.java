package dev.imprint.engine.container;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Foreign containers made by the real tools (qemu-img) from a raw disk with every kind of range:
 * random data, text that compresses, written zeros, holes, and a size that is no whole number of
 * clusters. Shared by the reader tests and the CLI's.
 */
public final class ForeignImages {
  private static final int MIB = 1 << 20;

  /** Not a whole number of 64 KiB clusters nor of 2 MiB blocks: the last one is partial. */
  public static final long RAW_SIZE = 24L * MIB + 7 * 512;

  private ForeignImages() {}

  /** The containers qemu-img makes, by name: options for {@code qemu-img convert}. */
  public enum Kind {
    QCOW2("qcow2", "-O", "qcow2"),
    QCOW2_V2("qcow2", "-O", "qcow2", "-o", "compat=0.10"),
    QCOW2_ZLIB("qcow2", "-c", "-O", "qcow2"),
    QCOW2_ZSTD("qcow2", "-c", "-O", "qcow2", "-o", "compression_type=zstd"),
    VHD_FIXED("VHD", "-O", "vpc", "-o", "subformat=fixed,force_size=on"),
    VHD_DYNAMIC("VHD", "-O", "vpc", "-o", "subformat=dynamic,force_size=on"),
    VHDX("VHDX", "-O", "vhdx"),
    VHDX_FIXED("VHDX", "-O", "vhdx", "-o", "subformat=fixed");

    final String format;
    final String[] options;

    Kind(String format, String... options) {
      this.format = format;
      this.options = options;
    }

    public String format() {
      return format;
    }
  }

  /** A raw disk of {@link #RAW_SIZE} bytes with data, text, written zeros and holes. */
  public static Path raw(Path dir, long seed) throws IOException {
    Path p = dir.resolve("disk.raw");
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(RAW_SIZE);
      f.seek(0);
      f.write(TestData.random(3 * MIB + 4096, seed)); // random, ending inside a cluster
      f.seek(5L * MIB);
      f.write(new byte[2 * MIB]); // written zeros
      f.seek(7L * MIB + 512);
      StringBuilder text = new StringBuilder();
      for (int i = 0; text.length() < 3 * MIB; i++) {
        text.append("line ").append(i).append(" of a text that compresses well\n");
      }
      f.write(text.toString().getBytes(StandardCharsets.US_ASCII));
      f.seek(16L * MIB);
      f.write(TestData.random(MIB, seed + 1));
      f.seek(RAW_SIZE - 3000);
      f.write(TestData.random(3000, seed + 2)); // the partial last cluster
    }
    return p;
  }

  /** {@code raw} converted by qemu-img into {@code kind}, beside it. */
  public static Path convert(Path raw, Kind kind) {
    Path out = raw.resolveSibling(kind.name().toLowerCase(java.util.Locale.ROOT) + ".img");
    String[] argv = new String[kind.options.length + 5];
    argv[0] = "qemu-img";
    argv[1] = "convert";
    argv[2] = "-f";
    argv[3] = "raw";
    System.arraycopy(kind.options, 0, argv, 4, kind.options.length);
    argv[argv.length - 1] = raw.toString();
    String[] withOut = java.util.Arrays.copyOf(argv, argv.length + 1);
    withOut[withOut.length - 1] = out.toString();
    Cmd.run(withOut);
    return out;
  }
}
