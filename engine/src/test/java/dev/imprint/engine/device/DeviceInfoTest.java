package dev.imprint.engine.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceInfoTest {
  @TempDir Path dir;

  @AfterEach
  void detachLeftovers() {
    if (Root.isRoot()) {
      LoopDevice.detachAllUnder(dir);
    }
  }

  @Test
  void decodesDeviceNumbersLikeGlibc() {
    assertEquals("7:3", DeviceInfo.majorMinor(0x0703));
    assertEquals("254:0", DeviceInfo.majorMinor(0xfe00));
    // Large minors spill into the high bits: 259:65536 (an nvme partition far down the list).
    long dev = (259L & 0xfff) << 8 | (65536L & 0xff) | ((65536L & ~0xffL) << 12);
    assertEquals("259:65536", DeviceInfo.majorMinor(dev));
  }

  @Test
  void describesALoopDevice() throws Exception {
    Root.assumeRoot();
    Path file = sized("disk.img", 48L << 20);
    try (LoopDevice loop = LoopDevice.attach(file)) {
      DeviceInfo info = DeviceInfo.probe(loop.path());
      assertEquals(loop.path().getFileName().toString(), info.name());
      assertEquals(48L << 20, info.size());
      assertEquals(512, info.sectorSize());
      assertTrue(info.isBlockDevice());
      assertFalse(info.isPartition());
      assertEquals(Optional.empty(), info.parentDisk());
      assertEquals(info.name(), info.diskName());
      assertEquals("loop: " + file.toRealPath(), info.model());
      assertFalse(info.readOnly());
      assertTrue(info.majorMinor().startsWith("7:"), info.majorMinor());
    }
  }

  @Test
  void followsSymlinksAndSeesWindowsAndSectorSizes() throws Exception {
    Root.assumeRoot();
    Path file = sized("disk.img", 32L << 20);
    try (LoopDevice part = LoopDevice.attach(file, 1L << 20, 8L << 20)) {
      Path link = dir.resolve("by-id-link");
      Files.createSymbolicLink(link, part.path());
      DeviceInfo info = DeviceInfo.probe(link);
      assertEquals(link, info.path(), "keeps the name the user gave");
      assertEquals(part.path().getFileName().toString(), info.name());
      assertEquals(8L << 20, info.size());
      Cmd.run("losetup", "--sector-size", "4096", part.path().toString());
      assertEquals(4096, DeviceInfo.probe(part.path()).sectorSize());
      try (TargetDevice t = TargetDevice.open(part.path(), OpenMode.RESTORE)) {
        assertEquals(4096, t.sectorSize(), "BLKSSZGET agrees with sysfs");
        assertEquals(8L << 20, t.size());
      }
    }
  }

  @Test
  void describesARegularFile() throws Exception {
    Path file = sized("plain.img", 12345);
    DeviceInfo info = DeviceInfo.probe(file);
    assertFalse(info.isBlockDevice());
    assertEquals(12345, info.size());
    assertEquals("file", info.model());
    assertEquals("plain.img", info.name());
  }

  @Test
  void missingAndWrongKindsAreNamed() {
    DeviceException missing =
        assertThrows(DeviceException.class, () -> DeviceInfo.probe(dir.resolve("nope")));
    assertEquals(DeviceException.ENOENT, missing.errno());
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    DeviceException chr =
        assertThrows(DeviceException.class, () -> DeviceInfo.probe(Path.of("/dev/null")));
    assertTrue(chr.getMessage().startsWith("/dev/null is neither"), chr.getMessage());
  }

  private Path sized(String name, long size) throws Exception {
    Path file = dir.resolve(name);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
    }
    return file;
  }
}
