package dev.imprint.engine.container.zip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.SequentialDisk;
import dev.imprint.engine.source.Sources;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZipImageTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;
  private Path raw;
  private byte[] disk;

  @BeforeEach
  void disk() throws IOException {
    Root.assumeCommands("zip");
    // Compressible but not trivially: random MiBs between zero MiBs, and an odd tail.
    disk = new byte[5 * MIB + 4096];
    byte[] r = new byte[MIB];
    new SplittableRandom(5).nextBytes(r);
    System.arraycopy(r, 0, disk, 0, MIB);
    System.arraycopy(r, 0, disk, 3 * MIB, MIB);
    disk[disk.length - 1] = 9;
    raw = dir.resolve("disk.img");
    Files.write(raw, disk);
  }

  private Path zip(String name, String... args) {
    Path z = dir.resolve(name);
    String[] argv = new String[args.length + 3];
    argv[0] = "zip";
    argv[1] = "-qj";
    argv[2] = z.toString();
    System.arraycopy(args, 0, argv, 3, args.length);
    Cmd.run(argv);
    return z;
  }

  private static byte[] readAll(DiskSource d) throws IOException {
    if (d instanceof RandomAccessDisk r) {
      ByteBuffer b = ByteBuffer.allocate((int) r.size());
      r.readFully(b, 0);
      return b.array();
    }
    SequentialDisk s = (SequentialDisk) d;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer b = ByteBuffer.allocate(MIB);
    int n;
    while ((n = s.readFully(b.clear())) > 0) {
      out.write(b.array(), 0, n);
    }
    return out.toByteArray();
  }

  @Test
  void aStoredImageIsReadInPlace() throws IOException {
    Path z = zip("stored.zip", "-0", raw.toString());
    try (DiskSource d = Sources.open(z.toString())) {
      RandomAccessDisk r = assertInstanceOf(RandomAccessDisk.class, d);
      assertEquals("disk.img in " + z, r.description());
      assertArrayEquals(disk, readAll(r));
    }
  }

  private static <T> T assertInstanceOf(Class<T> type, Object o) {
    assertTrue(type.isInstance(o), o.getClass() + " is not a " + type.getSimpleName());
    return type.cast(o);
  }

  @Test
  void aDeflatedImageIsInflatedFrontToBack() throws IOException {
    Path z = zip("deflated.zip", raw.toString());
    try (DiskSource d = Sources.open(z.toString())) {
      assertInstanceOf(SequentialDisk.class, d);
      assertArrayEquals(disk, readAll(d));
    }
    // The same archive through a pipe: read as it arrives.
    try (DiskSource d = Sources.openStream("a pipe", new FileInputStream(z.toFile()))) {
      assertArrayEquals(disk, readAll(d));
    }
  }

  @Test
  void aStoredContainerIsThatContainer() throws IOException {
    Root.assumeCommands("img2simg");
    Path simg = dir.resolve("disk.simg");
    Cmd.run("img2simg", raw.toString(), simg.toString());
    Path z = zip("sparse.zip", "-0", simg.toString());
    try (DiskSource d = Sources.open(z.toString())) {
      ContainerDisk c = assertInstanceOf(ContainerDisk.class, d);
      assertEquals("Android sparse", c.format().name());
      assertArrayEquals(disk, readAll(c));
    }
    assertTrue(Sources.openContainer(z).isPresent());
  }

  @Test
  void severalFilesAreRefusedWithTheirNames() throws IOException {
    Path other = dir.resolve("README.txt");
    Files.writeString(other, "flash me");
    Path z = zip("two.zip", raw.toString(), other.toString());
    ContainerRefusedException e =
        assertThrows(ContainerRefusedException.class, () -> Sources.open(z.toString()));
    assertTrue(e.getMessage().contains("2 files (disk.img, README.txt)"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
    // As a stream, the second file shows only at the first one's end: the stream fails there.
    try (DiskSource d = Sources.openStream("a pipe", new FileInputStream(z.toFile()))) {
      IOException s = assertThrows(IOException.class, () -> readAll(d));
      assertTrue(s.getMessage().contains("disk.img, README.txt"), s.getMessage());
    }
  }

  /** Offset of the (only) central directory entry. */
  private static int central(byte[] z) {
    for (int i = z.length - 22; i >= 0; i--) {
      if (ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).getInt(i) == ZipImage.CENTRAL) {
        return i;
      }
    }
    throw new AssertionError("no central directory");
  }

  private Path patched(Path z, int at, int value) throws IOException {
    byte[] b = Files.readAllBytes(z);
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at < 0 ? central(b) - at : at, value);
    Path p = Files.createTempFile(dir, "bad", ".zip");
    Files.write(p, b);
    return p;
  }

  @Test
  void damageIsOneClearLine() throws IOException {
    Path z = zip("deflated.zip", raw.toString());
    byte[] good = Files.readAllBytes(z);
    // Size mismatches in the directory (a bomb, or a lie): found while inflating, never written.
    assertReadDamaged(patched(z, -24, disk.length - 4096), "more than the");
    assertReadDamaged(patched(z, -24, disk.length + 4096), "not the " + (disk.length + 4096));
    // A flipped byte in the deflate data: corrupt data or a CRC32 that disagrees.
    byte[] b = good.clone();
    b[30 + "disk.img".length() + 2000] ^= 0x55;
    Path flipped = Files.createTempFile(dir, "flip", ".zip");
    Files.write(flipped, b);
    assertReadDamaged(flipped, "zip archive is damaged");
    // Cut short: the end record is gone.
    Path cut = Files.createTempFile(dir, "cut", ".zip");
    Files.write(cut, Arrays.copyOf(good, good.length / 2));
    assertOpenDamaged(cut, "no end of central directory");
    // A directory pointing past the end.
    assertOpenDamaged(patched(z, good.length - 22 + 16, good.length * 2), "does not lie before");
    // A stored entry whose sizes differ.
    Path stored = zip("stored.zip", "-0", raw.toString());
    assertOpenDamaged(patched(stored, -20, 12), "stored but its sizes differ");
    // An absurd file count.
    byte[] c = good.clone();
    ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putShort(good.length - 22 + 10, (short) 999);
    Path many = Files.createTempFile(dir, "many", ".zip");
    Files.write(many, c);
    assertOpenDamaged(many, "counts 999 files");
  }

  private void assertOpenDamaged(Path z, String says) {
    ImageDamagedException e =
        assertThrows(ImageDamagedException.class, () -> Sources.open(z.toString()).close());
    assertTrue(e.getMessage().contains(says), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  private void assertReadDamaged(Path z, String says) throws IOException {
    try (DiskSource d = Sources.open(z.toString())) {
      ImageDamagedException e = assertThrows(ImageDamagedException.class, () -> readAll(d));
      assertTrue(e.getMessage().contains(says), e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
  }
}
