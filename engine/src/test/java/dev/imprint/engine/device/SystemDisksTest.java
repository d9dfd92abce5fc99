package dev.imprint.engine.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemDisksTest {
  @TempDir Path dir;

  private final SystemDisks disks = new SystemDisks();

  @AfterEach
  void detachLeftovers() {
    if (Root.isRoot()) {
      LoopDevice.detachAllUnder(dir);
    }
  }

  @Test
  void parsesMountinfoWithEscapesAndOptionalFields() throws Exception {
    Path mountinfo = dir.resolve("mountinfo");
    Files.writeString(
        mountinfo,
        "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
            + "90 27 7:3 / /mnt/my\\040disk ro,nosuid master:4 unbindable - vfat /dev/loop3 ro\n");
    Path swaps = dir.resolve("swaps");
    Files.writeString(swaps, "Filename Type Size Used Priority\n");
    List<Mount> mounts = new SystemDisks(mountinfo, swaps).mounts();
    assertEquals(
        new Mount("/dev/vda", "254:0", Path.of("/"), "ext4", false, "rw,relatime", "rw"),
        mounts.get(0));
    assertEquals(
        new Mount("/dev/loop3", "7:3", Path.of("/mnt/my disk"), "vfat", true, "ro,nosuid", "ro"),
        mounts.get(1));
  }

  @Test
  void relatesPartitionsToTheirDisk() {
    DeviceInfo sda = block("sda", Optional.empty());
    DeviceInfo sda1 = block("sda1", Optional.of("sda"));
    DeviceInfo sda2 = block("sda2", Optional.of("sda"));
    DeviceInfo sdb = block("sdb", Optional.empty());
    assertTrue(disks.sameOrRelated(sda, sda));
    assertTrue(disks.sameOrRelated(sda, sda1));
    assertTrue(disks.sameOrRelated(sda2, sda));
    assertFalse(disks.sameOrRelated(sda1, sda2), "sibling partitions do not overlap");
    assertFalse(disks.sameOrRelated(sda, sdb));
  }

  @Test
  void relatesFilesByInode() throws Exception {
    Path a = Files.writeString(dir.resolve("a.img"), "x");
    Path b = Files.createLink(dir.resolve("b.img"), a);
    Path c = Files.writeString(dir.resolve("c.img"), "x");
    assertTrue(disks.sameOrRelated(DeviceInfo.probe(a), DeviceInfo.probe(b)));
    assertFalse(disks.sameOrRelated(DeviceInfo.probe(a), DeviceInfo.probe(c)));
  }

  @Test
  void findsAndUnmountsAMountedLoop() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mke2fs", "mount");
    Path file = ext4("fs.img");
    try (LoopDevice loop = LoopDevice.attach(file);
        LoopDevice other = LoopDevice.attach(ext4("other.img"))) {
      DeviceInfo info = DeviceInfo.probe(loop.path());
      assertEquals(List.of(), disks.mountsOn(info));
      try (TempMount mount = TempMount.mount(loop.path())) {
        List<Mount> found = disks.mountsOn(info);
        assertEquals(1, found.size(), found.toString());
        Mount m = found.get(0);
        assertEquals(mount.mountPoint(), m.mountPoint());
        assertEquals("ext4", m.fsType());
        assertEquals(loop.path().toString(), m.device());
        assertEquals(List.of(), disks.mountsOn(DeviceInfo.probe(other.path())));

        disks.unmount(m);
        assertEquals(List.of(), disks.mountsOn(info));
      }
    }
  }

  @Test
  void unmountOfABusyFilesystemFailsAndSaysWhy() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mke2fs", "mount");
    try (LoopDevice loop = LoopDevice.attach(ext4("fs.img"));
        TempMount mount = TempMount.mount(loop.path())) {
      Mount m = disks.mountsOn(DeviceInfo.probe(loop.path())).get(0);
      try (FileChannel open =
          FileChannel.open(
              mount.mountPoint().resolve("held"),
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE)) {
        DeviceException e = assertThrows(DeviceException.class, () -> disks.unmount(m));
        assertEquals(DeviceException.EBUSY, e.errno());
        assertEquals(
            "cannot unmount "
                + loop.path()
                + " from "
                + mount.mountPoint()
                + ": busy (a program has files open there): close it and retry",
            e.getMessage());
      }
      assertEquals(1, disks.mountsOn(DeviceInfo.probe(loop.path())).size(), "still mounted");
    }
  }

  @Test
  void rootIsOnTheRootDiskAndNotOnALoop() throws Exception {
    Root.assumeRoot();
    try (LoopDevice loop = LoopDevice.attach(sized("disk.img", 8L << 20))) {
      DeviceInfo info = DeviceInfo.probe(loop.path());
      assertFalse(disks.holdsRoot(info));
      assertFalse(disks.holdsActiveSwap(info));
    }
    Mount root = null;
    for (Mount m : disks.mounts()) {
      if (m.mountPoint().equals(Path.of("/"))) {
        root = m;
      }
    }
    Path sys = Path.of("/sys/dev/block", root.majorMinor());
    if (!root.majorMinor().startsWith("0:") && Files.exists(sys)) {
      DeviceInfo rootDevice = DeviceInfo.ofKernelName(sys.toRealPath().getFileName().toString());
      assertTrue(disks.holdsRoot(rootDevice), rootDevice.toString());
      DeviceInfo rootDisk = DeviceInfo.ofKernelName(rootDevice.diskName());
      assertTrue(disks.holdsRoot(rootDisk), "the whole disk under / is off limits too");
      assertFalse(disks.mountsOn(rootDisk).isEmpty());
    }
  }

  @Test
  void seesAnActiveSwapPartition() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mkswap", "swapon", "swapoff");
    try (LoopDevice loop = LoopDevice.attach(sized("swap.img", 16L << 20))) {
      Cmd.run("mkswap", loop.path().toString());
      DeviceInfo info = DeviceInfo.probe(loop.path());
      assertFalse(disks.holdsActiveSwap(info));
      Cmd.Result on = Cmd.result("swapon", loop.path().toString());
      assertEquals(0, on.exitCode(), () -> "swapon: " + on.stderr());
      try {
        assertTrue(disks.holdsActiveSwap(info));
      } finally {
        Cmd.run("swapoff", loop.path().toString());
      }
    }
  }

  private static DeviceInfo block(String name, Optional<String> parent) {
    return new DeviceInfo(
        Path.of("/dev", name),
        name,
        "8:0",
        1 << 30,
        512,
        "test disk",
        true,
        parent.isPresent(),
        parent,
        false,
        false);
  }

  private Path ext4(String name) throws Exception {
    Path file = sized(name, 16L << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", file.toString());
    return file;
  }

  private Path sized(String name, long size) throws Exception {
    Path file = dir.resolve(name);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
    }
    return file;
  }
}
