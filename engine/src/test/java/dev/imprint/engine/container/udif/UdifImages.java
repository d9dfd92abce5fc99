package dev.imprint.engine.container.udif;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A UDIF (.dmg) of a whole disk, built with {@link UdifBuilder} for tests outside this package (the
 * CLI's restores): one table of 1 MiB chunks, zero fill where a chunk is all zeros, else zlib, LZMA
 * (a bare .lzma stream) and raw in turn, with CRC-32 checksums.
 */
public final class UdifImages {
  private static final int CHUNK = 1 << 20;

  private UdifImages() {}

  /** Writes the .dmg of {@code disk} (a whole number of 512-byte sectors) to {@code out}. */
  public static Path write(byte[] disk, Path out) throws IOException {
    int[] types = {Chunk.ZLIB, Chunk.LZMA, Chunk.RAW};
    List<UdifBuilder.Part> parts = new ArrayList<>();
    for (int at = 0, i = 0; at < disk.length; at += CHUNK) {
      byte[] content = Arrays.copyOfRange(disk, at, Math.min(disk.length, at + CHUNK));
      boolean zeros = Arrays.equals(content, new byte[content.length]);
      parts.add(new UdifBuilder.Part(zeros ? Chunk.ZERO_FILL : types[i++ % types.length], content));
    }
    byte[] dmg =
        new UdifBuilder().bareLzma(1).table(parts.toArray(UdifBuilder.Part[]::new)).build();
    return Files.write(out, dmg);
  }

  /**
   * A 32 MiB disk holding a LUKS2 volume: cryptsetup's header (16 MiB, mostly zeros) and random
   * bytes standing for the ciphertext after it.
   */
  public static byte[] luksDisk(Path dir) throws IOException {
    Root.assumeCommands("cryptsetup");
    Path f = dir.resolve("luks.img");
    TestData.setLength(f, 32L << 20);
    Cmd.run(
        "sh",
        "-c",
        "printf pw | cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2"
            + " --pbkdf-force-iterations 1000 --key-file - "
            + f);
    byte[] disk = Files.readAllBytes(f);
    assertArrayEquals(
        "LUKS\u00ba\u00be".getBytes(StandardCharsets.ISO_8859_1), Arrays.copyOf(disk, 6));
    byte[] cipher = TestData.random(16L << 20, 77);
    System.arraycopy(cipher, 0, disk, 16 << 20, cipher.length);
    return disk;
  }
}
