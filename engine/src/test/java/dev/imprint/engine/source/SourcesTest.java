package dev.imprint.engine.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.DecodedDiskTest.Tool;
import dev.imprint.engine.source.Magic.Format;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.Unprivileged;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SourcesTest {
  private static final int SIZE = 1 << 20;

  @TempDir Path dir;

  @Test
  void aRawFileIsReadInPlace() throws IOException {
    byte[] disk = DecodedDiskTest.diskContent(SIZE, 21);
    Path file = Files.write(dir.resolve("disk.img.xz"), disk); // the name lies; content decides
    assertEquals(Format.RAW, Sources.detect(file.toString()));
    try (DiskSource source = Sources.open(file.toString())) {
      FileDisk fileDisk = assertInstanceOf(FileDisk.class, source);
      assertEquals(SIZE, fileDisk.size());
      assertEquals(file.toString(), fileDisk.description());
      ByteBuffer buffer = ByteBuffer.allocate(SIZE);
      fileDisk.read(buffer, 0);
      assertArrayEquals(disk, buffer.array());
    }
  }

  @Test
  void aCompressedFileIsDecodedWhateverItsName() throws Exception {
    for (Tool tool : Tool.values()) {
      Root.assume(tool.installed(), tool.command[0] + " is not installed");
      byte[] disk = DecodedDiskTest.diskContent(SIZE, 22);
      Path file = Files.write(dir.resolve("disk-" + tool + ".img"), tool.compress(disk));
      assertEquals(tool.format, Sources.detect(file.toString()));
      try (DiskSource source = Sources.open(file.toString())) {
        DecodedDisk decoded = assertInstanceOf(DecodedDisk.class, source);
        assertEquals(tool.format, decoded.format());
        assertEquals(file.toString(), decoded.description());
        if (tool == Tool.XZ) {
          assertEquals(OptionalLong.of(SIZE), decoded.size(), "xz keeps the size in its index");
        }
        assertArrayEquals(disk, DecodedDiskTest.readAll(decoded, 300_000, false));
      }
    }
  }

  @Test
  void aNamedPipeIsPeekedThenDecodedFromTheStart() throws Exception {
    Root.assume(Tool.ZSTD.installed(), "zstd is not installed");
    byte[] disk = DecodedDiskTest.diskContent(SIZE, 23);
    byte[] compressed = Tool.ZSTD.compress(disk);
    Path fifo = dir.resolve("pipe");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo failed");

    CompletableFuture<Void> writer =
        CompletableFuture.runAsync(
            () -> {
              try (OutputStream out = Files.newOutputStream(fifo);
                  InputStream in = new ByteArrayInputStream(compressed)) {
                in.transferTo(out);
              } catch (IOException e) {
                throw new RuntimeException(e);
              }
            });
    assertEquals(Format.ZSTD, Sources.detect(fifo.toString()));
    try (DiskSource source = Sources.open(fifo.toString())) {
      DecodedDisk decoded = assertInstanceOf(DecodedDisk.class, source);
      assertArrayEquals(disk, DecodedDiskTest.readAll(decoded, 1 << 16, false));
    }
    writer.get(10, TimeUnit.SECONDS);
  }

  /** Runs in a child JVM, reading its standard input as a source. */
  static final class ReadStdin {
    public static void main(String[] args) throws Exception {
      Format format = Sources.detect(Sources.STDIN);
      try (DiskSource source = Sources.open(Sources.STDIN)) {
        DecodedDisk disk = (DecodedDisk) source;
        byte[] bytes = DecodedDiskTest.readAll(disk, 1 << 16, false);
        System.out.println(
            format
                + " "
                + disk.description()
                + " "
                + disk.size()
                + " "
                + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
      } catch (SourceException e) {
        System.out.println(e.getMessage());
      }
    }
  }

  private static String readStdinInChildJvm(ProcessBuilder.Redirect stdin, byte[] piped)
      throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child =
        new ProcessBuilder(
                java, "-cp", System.getProperty("java.class.path"), ReadStdin.class.getName())
            .redirectInput(stdin)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    if (piped != null) {
      try (OutputStream out = child.getOutputStream()) {
        out.write(piped);
      }
    }
    String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(child.waitFor(60, TimeUnit.SECONDS));
    return output.trim();
  }

  @Test
  void standardInputIsSniffedAndDecoded() throws Exception {
    byte[] disk = DecodedDiskTest.diskContent(SIZE, 24);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(disk));
    // A raw file redirected to stdin has a size; a pipe doesn't.
    Path raw = Files.write(dir.resolve("stdin.img"), disk);
    assertEquals(
        "RAW standard input OptionalLong[" + SIZE + "] " + sha,
        readStdinInChildJvm(ProcessBuilder.Redirect.from(raw.toFile()), null));
    assertEquals(
        "GZIP standard input OptionalLong.empty " + sha,
        readStdinInChildJvm(ProcessBuilder.Redirect.PIPE, Tool.GZIP.compress(disk)));
    byte[] image = {'I', 'M', 'P', 'R', 'I', 'N', 'T', 0, 1, 0};
    assertEquals(
        "standard input is an Imprint image, not a raw disk: restore it as an image instead of"
            + " reading it as a source",
        readStdinInChildJvm(ProcessBuilder.Redirect.PIPE, image));
  }

  @Test
  void anImprintImageIsNotADisk() throws IOException {
    Path image = dir.resolve("golden.img");
    Files.write(image, new byte[] {'I', 'M', 'P', 'R', 'I', 'N', 'T', 0, 1, 0, 0, 0});
    assertEquals(Format.IMPRINT, Sources.detect(image.toString()));
    SourceException e = assertThrows(SourceException.class, () -> Sources.open(image.toString()));
    assertEquals(
        image
            + " is an Imprint image, not a raw disk: restore it as an image instead of reading it"
            + " as a source",
        e.getMessage());
  }

  /** A real (tiny) Imprint image's bytes. */
  private byte[] imprintImage() throws IOException {
    Path p = dir.resolve("real.imprint");
    dev.imprint.engine.image.ImageMutations.smallImage(p, null);
    return Files.readAllBytes(p);
  }

  @Test
  void aDamagedImprintImageIsStillAnImageNeverARawDisk() throws IOException {
    byte[] good = imprintImage();
    // One flipped byte in the magic: the head still resembles it.
    byte[] flipped = good.clone();
    flipped[3] ^= 0x20;
    // The whole magic gone: the trailer at the end still says what it is.
    byte[] noMagic = good.clone();
    java.util.Arrays.fill(noMagic, 0, 8, (byte) 0);
    // The trailer's magic flipped and the head gone: its CRC still holds.
    byte[] badTail = noMagic.clone();
    badTail[badTail.length - 80] ^= 0x7f;
    badTail[badTail.length - 79] ^= 0x7f;
    badTail[badTail.length - 78] ^= 0x7f;
    for (byte[] b : java.util.List.of(flipped, noMagic, badTail)) {
      Path image = Files.write(dir.resolve("damaged.img"), b);
      assertEquals(Format.IMPRINT, Sources.detect(image.toString()));
      SourceException e = assertThrows(SourceException.class, () -> Sources.open(image.toString()));
      assertTrue(e.getMessage().contains("is an Imprint image"), e.getMessage());
      // A pipe sees only the head: a resembling magic is enough there.
      if (b == flipped) {
        SourceException p =
            assertThrows(
                SourceException.class,
                () -> Sources.openStream("standard input", new ByteArrayInputStream(b)));
        assertTrue(p.getMessage().contains("is an Imprint image"), p.getMessage());
      }
    }
  }

  @Test
  void aRawDiskHoldingAnImageElsewhereIsRaw() throws IOException {
    byte[] image = imprintImage();
    byte[] disk = DecodedDiskTest.diskContent(SIZE, 23);
    System.arraycopy(image, 0, disk, 4096, image.length);
    Path file = Files.write(dir.resolve("disk.img"), disk);
    assertEquals(Format.RAW, Sources.detect(file.toString()));
    try (DiskSource source = Sources.open(file.toString())) {
      assertInstanceOf(FileDisk.class, source);
    }
  }

  @Test
  void anEmptyFileIsRefused() throws IOException {
    Path empty = Files.createFile(dir.resolve("empty.img"));
    for (var call :
        java.util.List.<org.junit.jupiter.api.function.Executable>of(
            () -> Sources.detect(empty.toString()), () -> Sources.open(empty.toString()))) {
      SourceException e = assertThrows(SourceException.class, call);
      assertEquals(
          "source " + empty + " is empty: there is no disk in it (give an image or a disk)",
          e.getMessage());
    }
  }

  @Test
  void aMissingPathSaysSo() {
    String missing = dir.resolve("nope/disk.img").toString();
    SourceException e = assertThrows(SourceException.class, () -> Sources.open(missing));
    assertEquals("source " + missing + " does not exist: check the path", e.getMessage());
    assertThrows(SourceException.class, () -> Sources.detect(missing));
  }

  @Test
  void aDirectoryIsNotASource() {
    SourceException e = assertThrows(SourceException.class, () -> Sources.open(dir.toString()));
    assertEquals(
        "source " + dir + " is a directory: give an image file or a block device", e.getMessage());
  }

  @Test
  void aCharacterDeviceIsNotADisk() {
    SourceException e = assertThrows(SourceException.class, () -> Sources.open("/dev/null"));
    assertEquals(
        "source /dev/null is a character device, not a disk: give an image file or a block device",
        e.getMessage());
  }

  /** Root reads every file, so the open runs as nobody, in a child JVM. */
  @Test
  void anUnreadableFileSaysPermissionDenied() throws IOException {
    Path file = Files.write(Unprivileged.openToAll(dir).resolve("locked.img"), new byte[512]);
    Files.setPosixFilePermissions(file, java.util.Set.of());
    Cmd.Result r = Unprivileged.run(OpenSource.class, file.toString());
    assertEquals(0, r.exitCode(), r::toString);
    assertEquals(
        "cannot read source " + file + ": permission denied (check its permissions)",
        r.stdout().strip());
  }

  /** Opens its argument as a source and prints why it could not. */
  public static final class OpenSource {
    public static void main(String[] args) throws IOException {
      try (DiskSource s = Sources.open(args[0])) {
        System.out.println("opened " + s.description());
      } catch (SourceException e) {
        System.out.println(e.getMessage());
      }
    }
  }
}
