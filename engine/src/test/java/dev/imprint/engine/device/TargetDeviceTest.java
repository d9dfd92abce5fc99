package dev.imprint.engine.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetDeviceTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  @AfterEach
  void detachLeftovers() {
    if (Root.isRoot()) {
      LoopDevice.detachAllUnder(dir);
    }
  }

  /** Holes of a file target need no read-back; written bytes, even zeros, are never a hole. */
  @Test
  void holesOfAFileAreKnownAndWrittenRangesAreNot() throws Exception {
    Path f = dir.resolve("holes.img");
    try (TargetDevice d = TargetDevice.open(f, OpenMode.SHARED)) {
      d.setLength(16 << 20);
      d.write(ByteBuffer.wrap(new byte[1 << 20]), 4 << 20); // zeros, but written: allocated
      byte[] junk = new byte[1 << 20];
      new Random(5).nextBytes(junk);
      d.write(ByteBuffer.wrap(junk), 8 << 20);
      d.flush();
      assertTrue(d.isHole(0, 1 << 20), "never written");
      assertTrue(d.isHole(12 << 20, 4 << 20), "never written, up to the end");
      assertFalse(d.isHole(4 << 20, 1 << 20), "zeros that were written are read back");
      assertFalse(d.isHole(8 << 20, 1 << 20), "data");
      assertFalse(d.isHole(7 << 20, 2 << 20), "a range that reaches data");
    }
  }

  @Test
  void allocateAlignedIsAlignedAndExact() {
    ByteBuffer b = TargetDevice.allocateAligned(12345);
    assertEquals(12345, b.capacity());
    assertEquals(0, b.alignmentOffset(0, 4096));
  }

  @Test
  void writesReadsAndZeroesOnALoopDevice() throws Exception {
    Root.assumeRoot();
    Path file = sparseFile("disk.img", 64L * MIB);
    try (LoopDevice loop = LoopDevice.attach(file);
        TargetDevice t = TargetDevice.open(loop.path(), OpenMode.RESTORE)) {
      assertTrue(t.isBlockDevice());
      assertTrue(t.direct(), "O_DIRECT on a loop device");
      assertEquals(64L * MIB, t.size());
      assertEquals(512, t.sectorSize());

      byte[] data = random(MIB, 1);
      ByteBuffer aligned = TargetDevice.allocateAligned(MIB).put(data).flip();
      t.write(aligned, 4L * MIB);
      byte[] odd = random(1000, 2);
      t.write(ByteBuffer.wrap(odd), 12345); // unaligned: the buffered path
      t.zero(4L * MIB + 4096, 8192); // BLKZEROOUT
      t.zero(12345 + 10, 100); // inside one sector: written zeros
      t.flush();
      t.dropCache();

      byte[] expect = data.clone();
      java.util.Arrays.fill(expect, 4096, 4096 + 8192, (byte) 0);
      assertArrayEquals(expect, readAligned(t, 4L * MIB, MIB));
      byte[] expectOdd = odd.clone();
      java.util.Arrays.fill(expectOdd, 10, 110, (byte) 0);
      ByteBuffer heap = ByteBuffer.allocate(1000);
      assertEquals(1000, t.read(heap, 12345));
      assertArrayEquals(expectOdd, heap.array());

      // The backing file, read independently, holds the same bytes.
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
        byte[] back = new byte[MIB];
        raf.seek(4L * MIB);
        raf.readFully(back);
        assertArrayEquals(expect, back);
      }

      DeviceException past =
          assertThrows(
              DeviceException.class,
              () -> t.write(TargetDevice.allocateAligned(8192), 64L * MIB - 4096));
      assertTrue(past.getMessage().contains(loop.path().toString()), past.getMessage());
    }
  }

  /** A loop device over a file discards by punching holes in the file: look at its blocks. */
  @Test
  void discardOnALoopDevicePunchesHolesInItsBackingFile() throws Exception {
    Root.assumeRoot();
    Path file = dir.resolve("full.img");
    Files.write(file, random(16 * MIB, 5)); // every block allocated
    long before = allocatedBytes(file);
    assertTrue(before >= 16L * MIB, "allocated " + before);
    try (LoopDevice loop = LoopDevice.attach(file);
        TargetDevice t = TargetDevice.open(loop.path(), OpenMode.RESTORE)) {
      assertTrue(t.discard(4L * MIB, 4L * MIB), "a file-backed loop device supports discard");
      // Unaligned edges are left alone, not rounded outwards over data.
      assertTrue(t.discard(12L * MIB + 100, MIB));
      t.flush();
      t.dropCache();
      assertArrayEquals(new byte[4 * MIB], readAligned(t, 4L * MIB, 4 * MIB));
    }
    assertTrue(allocatedBytes(file) <= before - 4L * MIB, "4 MiB freed: " + allocatedBytes(file));
    assertEquals(4L * MIB, seek(file, 0, LibC.SEEK_HOLE), "the hole starts where discard did");
    assertEquals(8L * MIB, seek(file, 4L * MIB, LibC.SEEK_DATA), "and ends where it ended");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      byte[] kept = new byte[512];
      raf.seek(12L * MIB);
      raf.readFully(kept);
      byte[] want = new byte[512];
      System.arraycopy(random(16 * MIB, 5), 12 * MIB, want, 0, 512);
      assertArrayEquals(want, kept, "the partial sector before the discarded range survives");
    }
  }

  @Test
  void sparseFileTargetPunchesHoles() throws Exception {
    Path file = dir.resolve("target.img"); // created on open
    try (TargetDevice t = TargetDevice.open(file, OpenMode.RESTORE)) {
      assertFalse(t.isBlockDevice());
      assertEquals(512, t.sectorSize());
      t.setLength(64L * MIB);
      assertEquals(64L * MIB, t.size());
      t.write(TargetDevice.allocateAligned(MIB).put(random(MIB, 3)).flip(), 0);
      byte[] far = random(MIB, 4);
      t.write(TargetDevice.allocateAligned(MIB).put(far).flip(), 32L * MIB);
      t.flush();
      long before = allocatedBytes(file);
      assertTrue(before >= 2L * MIB && before < 3L * MIB, "allocated " + before);

      t.zero(0, MIB);
      t.flush();
      assertTrue(allocatedBytes(file) < before - MIB / 2, "hole punched");
      assertEquals(32L * MIB, firstData(file), "SEEK_DATA skips the punched hole");
      t.dropCache();
      assertArrayEquals(new byte[MIB], readAligned(t, 0, MIB));
      assertArrayEquals(far, readAligned(t, 32L * MIB, MIB));

      t.zero(64L * MIB - 100, 1000); // past the end: extends, reading as zeros
      assertEquals(64L * MIB + 900, t.size());
      ByteBuffer tail = ByteBuffer.allocate(1000);
      assertEquals(1000, t.read(tail, 64L * MIB - 100));
      assertArrayEquals(new byte[1000], tail.array());
      assertEquals(0, t.read(ByteBuffer.allocate(10), 65L * MIB), "read past the end");
    }
  }

  @Test
  void bufferedModeStillWorks() throws Exception {
    Path file = dir.resolve("plain.img");
    try (TargetDevice t = TargetDevice.open(file, OpenMode.SHARED)) {
      assertFalse(t.direct());
      t.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 5);
      t.flush();
    }
    assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 1, 2, 3}, Files.readAllBytes(file));
  }

  @Test
  void missingDirectoryIsNamed() {
    Path file = dir.resolve("no/such/dir/x.img");
    DeviceException e =
        assertThrows(DeviceException.class, () -> TargetDevice.open(file, OpenMode.RESTORE));
    assertTrue(e.getMessage().contains(dir.resolve("no/such/dir").toString()), e.getMessage());
  }

  @Test
  void directoryIsRefused() {
    DeviceException e =
        assertThrows(DeviceException.class, () -> TargetDevice.open(dir, OpenMode.RESTORE));
    assertTrue(e.getMessage().contains("neither a block device nor a regular file"));
  }

  @Test
  void exclusiveOpenOfAMountedDeviceSaysBusy() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mke2fs", "mount");
    Path file = sparseFile("fs.img", 16L * MIB);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", file.toString());
    try (LoopDevice loop = LoopDevice.attach(file);
        TempMount mount = TempMount.mount(loop.path())) {
      DeviceException e =
          assertThrows(
              DeviceException.class, () -> TargetDevice.open(loop.path(), OpenMode.RESTORE));
      assertEquals(DeviceException.EBUSY, e.errno());
      assertEquals(
          "target "
              + loop.path()
              + " is busy (mounted or held by another program): unmount it or close what holds"
              + " it",
          e.getMessage());
    }
  }

  @Test
  void anExclusiveOpenKeepsOthersFromMounting() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mke2fs", "mount");
    Path file = sparseFile("fs.img", 16L * MIB);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", file.toString());
    try (LoopDevice loop = LoopDevice.attach(file);
        TargetDevice t = TargetDevice.open(loop.path(), OpenMode.RESTORE)) {
      Path mnt = Files.createTempDirectory(dir, "mnt");
      Cmd.Result r = Cmd.result("mount", loop.path().toString(), mnt.toString());
      if (r.exitCode() == 0) {
        Cmd.run("umount", mnt.toString());
      }
      assertTrue(r.exitCode() != 0, "mount must fail while we hold the device: " + r);
      assertThrows(DeviceException.class, () -> TargetDevice.open(loop.path(), OpenMode.RESTORE));
    }
  }

  private Path sparseFile(String name, long size) throws Exception {
    Path file = dir.resolve(name);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
    }
    return file;
  }

  private static byte[] readAligned(TargetDevice t, long position, int length) throws Exception {
    ByteBuffer b = TargetDevice.allocateAligned(length);
    assertEquals(length, t.read(b, position));
    byte[] out = new byte[length];
    b.flip().get(out);
    return out;
  }

  private static long allocatedBytes(Path file) {
    return Long.parseLong(Cmd.run("stat", "-c", "%b", file.toString())) * 512;
  }

  private static long firstData(Path file) {
    return seek(file, 0, LibC.SEEK_DATA);
  }

  private static long seek(Path file, long from, int whence) {
    int fd = LibC.INSTANCE.open(file.toString(), LibC.O_RDONLY);
    try {
      return LibC.INSTANCE.lseek(fd, from, whence);
    } finally {
      LibC.INSTANCE.close(fd);
    }
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }
}
