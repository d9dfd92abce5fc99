package dev.imprint.engine.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.Magic.Format;
import dev.imprint.engine.testing.Root;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DecodedDiskTest {
  static final int DISK_SIZE = 5 << 20;

  /** The compressor CLIs, as users make the images we read. */
  enum Tool {
    GZIP(Format.GZIP, "gzip", "-c"),
    XZ(Format.XZ, "xz", "-c", "-T1", "-3"),
    ZSTD(Format.ZSTD, "zstd", "-q", "-c"),
    BZIP2(Format.BZIP2, "bzip2", "-c"),
    LZ4(Format.LZ4, "lz4", "-q", "-c");

    final Format format;
    final String[] command;

    Tool(Format format, String... command) {
      this.format = format;
      this.command = command;
    }

    boolean installed() {
      for (String dir : System.getenv("PATH").split(File.pathSeparator)) {
        if (Files.isExecutable(Path.of(dir, command[0]))) {
          return true;
        }
      }
      return false;
    }

    /** Runs the CLI over {@code input}; skips the test when the CLI is missing. */
    byte[] compress(byte[] input) throws IOException, InterruptedException {
      Root.assume(installed(), command[0] + " is not installed");
      Process process =
          new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      Thread feeder =
          new Thread(
              () -> {
                try (OutputStream out = process.getOutputStream()) {
                  out.write(input);
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              });
      feeder.start();
      byte[] output;
      try (InputStream in = process.getInputStream()) {
        output = in.readAllBytes();
      }
      feeder.join();
      assertTrue(process.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, process.exitValue(), command[0] + " failed");
      return output;
    }
  }

  /** A disk-like mix: random blocks, zero runs, and text that compresses well. */
  static byte[] diskContent(int size, long seed) {
    byte[] disk = new byte[size];
    Random random = new Random(seed);
    byte[] block = new byte[64 << 10];
    for (int off = 0, i = 0; off < size; off += block.length, i++) {
      int len = Math.min(block.length, size - off);
      switch (i % 3) {
        case 0 -> {
          random.nextBytes(block);
          System.arraycopy(block, 0, disk, off, len);
        }
        case 1 -> {} // zeros
        default -> {
          for (int j = 0; j < len; j++) {
            disk[off + j] = (byte) "imprint restores disks ".charAt((j + i) % 23);
          }
        }
      }
    }
    return disk;
  }

  static byte[] readAll(SequentialDisk disk, int bufferSize, boolean direct) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer buffer =
        direct ? ByteBuffer.allocateDirect(bufferSize) : ByteBuffer.allocate(bufferSize);
    while (true) {
      buffer.clear();
      int n = disk.readFully(buffer);
      buffer.flip();
      byte[] chunk = new byte[buffer.remaining()];
      buffer.get(chunk);
      out.write(chunk);
      if (n < bufferSize) {
        return out.toByteArray();
      }
    }
  }

  private static DecodedDisk decode(byte[] compressed, Format format) throws IOException {
    return DecodedDisk.open(
        "test stream", new ByteArrayInputStream(compressed), format, OptionalLong.empty());
  }

  @ParameterizedTest
  @EnumSource(Tool.class)
  void roundTripsWhatTheCliCompressed(Tool tool) throws Exception {
    byte[] disk = diskContent(DISK_SIZE, 1);
    byte[] compressed = tool.compress(disk);
    assertEquals(tool.format, Magic.sniff(compressed, compressed.length));
    try (DecodedDisk decoded = decode(compressed, tool.format)) {
      // An odd buffer size makes reads straddle the decoders' internal blocks.
      assertArrayEquals(disk, readAll(decoded, 1_000_003, false));
      assertEquals(DISK_SIZE, decoded.position());
    }
    try (DecodedDisk decoded = decode(compressed, tool.format)) {
      assertArrayEquals(disk, readAll(decoded, 1 << 20, true));
    }
  }

  @ParameterizedTest
  @EnumSource(Tool.class)
  void readsConcatenatedMembersAsOneDisk(Tool tool) throws Exception {
    byte[] disk = diskContent(DISK_SIZE, 2);
    int half = 3 << 20;
    byte[] first = tool.compress(Arrays.copyOfRange(disk, 0, half));
    byte[] second = tool.compress(Arrays.copyOfRange(disk, half, disk.length));
    byte[] both = Arrays.copyOf(first, first.length + second.length);
    System.arraycopy(second, 0, both, first.length, second.length);
    try (DecodedDisk decoded = decode(both, tool.format)) {
      assertArrayEquals(disk, readAll(decoded, 1 << 20, false));
    }
  }

  @ParameterizedTest
  @EnumSource(Tool.class)
  void truncatedStreamNamesTheSourceAndFormat(Tool tool) throws Exception {
    byte[] compressed = tool.compress(diskContent(DISK_SIZE, 3));
    byte[] truncated = Arrays.copyOf(compressed, compressed.length * 6 / 10);
    IOException e =
        assertThrows(
            IOException.class,
            () -> {
              try (DecodedDisk decoded = decode(truncated, tool.format)) {
                readAll(decoded, 1 << 20, false);
              }
            });
    assertTrue(
        e.getMessage()
            .startsWith(
                "test stream: " + tool.format.label() + " data is corrupt or truncated at decoded"),
        e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(Tool.class)
  void corruptStreamNamesTheSourceAndFormat(Tool tool) throws Exception {
    byte[] disk = diskContent(DISK_SIZE, 4);
    byte[] compressed = tool.compress(disk);
    for (int i = compressed.length / 2; i < compressed.length / 2 + 64; i++) {
      compressed[i] ^= 0x5a;
    }
    IOException e =
        assertThrows(
            IOException.class,
            () -> {
              try (DecodedDisk decoded = decode(compressed, tool.format)) {
                readAll(decoded, 1 << 20, false);
              }
            });
    assertTrue(
        e.getMessage().startsWith("test stream: " + tool.format.label() + " data is corrupt"),
        e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(Tool.class)
  void emptyInputDecodesToAnEmptyDisk(Tool tool) throws Exception {
    byte[] compressed = tool.compress(new byte[0]);
    try (DecodedDisk decoded = decode(compressed, tool.format)) {
      assertEquals(0, readAll(decoded, 4096, false).length);
    }
  }

  @Test
  void rawStreamPassesBytesThroughWithTheGivenSize() throws IOException {
    byte[] disk = diskContent(DISK_SIZE, 5);
    try (DecodedDisk decoded =
        DecodedDisk.open(
            "pipe", new ByteArrayInputStream(disk), Format.RAW, OptionalLong.of(disk.length))) {
      assertEquals(OptionalLong.of(disk.length), decoded.size());
      assertArrayEquals(disk, readAll(decoded, 777_777, true));
    }
  }

  @Test
  void readErrorsOfTheInputAreNotBlamedOnTheData() throws IOException {
    InputStream failing =
        new InputStream() {
          int left = 10_000;

          @Override
          public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0];
          }

          @Override
          public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
              throw new IOException("Input/output error");
            }
            int n = Math.min(len, left);
            Arrays.fill(b, off, off + n, (byte) 0);
            left -= n;
            return n;
          }
        };
    try (DecodedDisk decoded =
        DecodedDisk.open("/dev/sr0", failing, Format.RAW, OptionalLong.empty())) {
      IOException e = assertThrows(IOException.class, () -> readAll(decoded, 1 << 16, false));
      assertEquals("/dev/sr0: read failed at byte 10000: Input/output error", e.getMessage());
    }
  }
}
