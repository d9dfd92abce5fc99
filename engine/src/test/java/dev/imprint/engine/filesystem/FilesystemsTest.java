package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.filesystem.Filesystems.Analysis;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The entry point: which reader answers, and what it says when none can. */
class FilesystemsTest {
  @TempDir Path tmp;

  @Test
  void randomBytesAreNoFilesystem() throws Exception {
    byte[] noise = new byte[4 << 20];
    new Random(1).nextBytes(noise);
    Path image = Files.write(tmp.resolve("noise.img"), noise);
    Analysis a = FsImages.analyze(image);
    assertEquals("", a.filesystem());
    assertTrue(a.map().isEmpty());
    assertEquals("no filesystem recognised: copying every non-zero block", a.note());
  }

  @Test
  void zerosAreNoFilesystem() throws Exception {
    Analysis a = FsImages.analyze(FsImages.blank(tmp.resolve("zero.img"), 1 << 20));
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().startsWith("no filesystem recognised"), a.note());
  }

  @Test
  void ext4SuperblockChecksumMismatchFallsBack() throws Exception {
    assumeTool("mke2fs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 32 << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", "-O", "metadata_csum", image.toString());
    assertTrue(FsImages.analyze(image).map().isPresent());
    FsImages.flip(image, 1024 + 0x78); // a byte of the volume label
    Analysis a = FsImages.analyze(image);
    assertEquals("ext4", a.filesystem());
    assertTrue(a.map().isEmpty());
    assertTrue(
        a.note().startsWith("ext4 superblock checksum mismatch")
            && a.note().endsWith(": copying every non-zero block"),
        a.note());
  }

  @Test
  void ext4GroupCountsThatDoNotAddUpFallBack() throws Exception {
    assumeTool("mke2fs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 32 << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext2", image.toString()); // no checksum to catch it
    FsImages.flip(image, 1024 + 0x28); // inodes per group
    Analysis a = FsImages.analyze(image);
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().contains("inodes do not equal"), a.note());
  }

  @Test
  void brokenFatBpbFallsBack() throws Exception {
    assumeTool("mkfs.vfat");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 16 << 20);
    Cmd.run("mkfs.vfat", "-F", "16", image.toString());
    assertTrue(FsImages.analyze(image).map().isPresent());
    write(image, 0x0B, new byte[] {0x00, 0x03}); // 768 bytes per sector
    Analysis a = FsImages.analyze(image);
    assertEquals("vfat", a.filesystem());
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().contains("768 bytes per sector"), a.note());
  }

  @Test
  void zeroNtfsSectorsPerClusterFallsBack() throws Exception {
    assumeTool("mkntfs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 16 << 20);
    Cmd.run("mkntfs", "-F", "-Q", "-q", image.toString());
    assertTrue(FsImages.analyze(image).map().isPresent());
    write(image, 0x0D, new byte[] {0});
    Analysis a = FsImages.analyze(image);
    assertEquals("ntfs", a.filesystem());
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().contains("0 sectors per cluster"), a.note());
  }

  @Test
  void tornNtfsBitmapRecordFallsBack() throws Exception {
    assumeTool("mkntfs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 16 << 20);
    Cmd.run("mkntfs", "-F", "-Q", "-q", "-c", "4096", image.toString());
    AllocationMap map = FsImages.map(image);
    long mft;
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
      f.seek(0x30);
      mft = Long.reverseBytes(f.readLong()) * 4096;
    }
    // Record 6's first sector ends in its update sequence number; change it.
    FsImages.flip(image, mft + 6 * 1024 + 510);
    Analysis a = FsImages.analyze(image);
    assertTrue(a.map().isEmpty(), "map " + map.how() + " after tearing");
    assertTrue(a.note().contains("fixup mismatch"), a.note());
  }

  @Test
  void xfsSuperblockChecksumMismatchFallsBack() throws Exception {
    assumeTool("mkfs.xfs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 320 << 20);
    Cmd.run("mkfs.xfs", "-f", "-q", image.toString());
    assertTrue(FsImages.analyze(image).map().isPresent());
    FsImages.flip(image, 108); // the label
    Analysis a = FsImages.analyze(image);
    assertEquals("xfs", a.filesystem());
    assertTrue(a.note().startsWith("xfs superblock checksum mismatch"), a.note());
  }

  @Test
  void xfsFreeSpaceTreeDamageFallsBack() throws Exception {
    assumeTool("mkfs.xfs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 320 << 20);
    Cmd.run("mkfs.xfs", "-f", "-q", "-m", "crc=0", image.toString());
    // AGF of group 0 is in sector 1; its free block count is at offset 52.
    FsImages.flip(image, 512 + 52 + 3);
    Analysis a = FsImages.analyze(image);
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().contains("free blocks"), a.note());
  }

  @Test
  void btrfsSuperblockChecksumMismatchFallsBack() throws Exception {
    assumeTool("mkfs.btrfs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 128 << 20);
    Cmd.run("mkfs.btrfs", "-q", "-f", "-K", image.toString());
    assertTrue(FsImages.analyze(image).map().isPresent());
    FsImages.flip(image, (64 << 10) + 0x12b); // the label
    Analysis a = FsImages.analyze(image);
    assertEquals("btrfs", a.filesystem());
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().startsWith("btrfs superblock checksum mismatch"), a.note());
  }

  @Test
  void swapAndLuksAreNamed() throws Exception {
    assumeTool("mkswap");
    Path swap = FsImages.blank(tmp.resolve("swap.img"), 8 << 20);
    Cmd.run("mkswap", swap.toString());
    Analysis s = FsImages.analyze(swap);
    assertTrue(s.map().isEmpty());
    assertTrue(s.note().startsWith("Linux swap"), s.note());

    Path luks = FsImages.blank(tmp.resolve("luks.img"), 1 << 20);
    write(luks, 0, new byte[] {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe, 0, 2});
    Analysis l = FsImages.analyze(luks);
    assertTrue(l.map().isEmpty());
    assertEquals("LUKS encrypted volume: copying every non-zero block", l.note());
  }

  @Test
  void aLeftOverBtrfsSuperblockUnderExt4MeansNeitherIsTrusted() throws Exception {
    assumeTool("mke2fs");
    assumeTool("mkfs.btrfs");
    Path btrfs = FsImages.blank(tmp.resolve("btrfs.img"), 128 << 20);
    Cmd.run("mkfs.btrfs", "-q", "-f", "-K", btrfs.toString());
    byte[] superblock = new byte[4096];
    try (RandomAccessFile f = new RandomAccessFile(btrfs.toFile(), "r")) {
      f.seek(64 << 10);
      f.readFully(superblock);
    }
    Path ext4 = FsImages.blank(tmp.resolve("ext4.img"), 128 << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", ext4.toString());
    assertEquals("ext4", FsImages.analyze(ext4).filesystem());
    // What btrfs-convert leaves, or an old btrfs under a new ext4: both superblocks check out.
    write(ext4, 64 << 10, superblock);
    Analysis a = FsImages.analyze(ext4);
    assertTrue(a.map().isEmpty(), a.note());
    assertEquals(
        "ext4 and btrfs signatures both present, all but one left over from earlier filesystems:"
            + " copying every non-zero block",
        a.note());
  }

  @Test
  void anExfatBootRegionOverAnOldBtrfsIsNotReadAsBtrfs() throws Exception {
    assumeTool("mkfs.btrfs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 128 << 20);
    Cmd.run("mkfs.btrfs", "-q", "-f", "-K", image.toString());
    assertEquals("btrfs", FsImages.analyze(image).filesystem());
    // exFAT's boot sector: none of Imprint's readers knows exFAT, the old btrfs at 64 KiB survives
    // it with every checksum intact, and only libblkid sees both.
    write(
        image,
        0,
        new byte[] {(byte) 0xEB, 0x76, (byte) 0x90, 'E', 'X', 'F', 'A', 'T', ' ', ' ', ' '});
    write(image, 510, new byte[] {0x55, (byte) 0xAA});
    Analysis a = FsImages.analyze(image);
    assertTrue(a.map().isEmpty(), a.note());
    assertEquals(
        "btrfs signature, but libblkid finds another filesystem's signature too (one is left over):"
            + " copying every non-zero block",
        a.note());
  }

  @Test
  void aLuksHeaderOverAnOldExt4IsNotReadAsExt4() throws Exception {
    assumeTool("mke2fs");
    Path image = FsImages.blank(tmp.resolve("fs.img"), 32 << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", image.toString());
    // LUKS1's header is 592 bytes at the start: the ext4 superblock at 1 KiB survives it.
    write(image, 0, new byte[] {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe, 0, 1});
    Analysis a = FsImages.analyze(image);
    assertTrue(a.map().isEmpty(), a.note());
    assertEquals(
        "LUKS encrypted volume (with a left-over ext4 signature): copying every non-zero block",
        a.note());
  }

  @Test
  void aVolumeInsideADiskIsMappedRelativeToItsStart() throws Exception {
    assumeTool("mke2fs");
    Path fs = FsImages.blank(tmp.resolve("fs.img"), 16 << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", fs.toString());
    AllocationMap alone = FsImages.map(fs);
    Path disk = FsImages.blank(tmp.resolve("disk.img"), 40 << 20);
    long offset = 3 << 20;
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
      f.seek(offset);
      f.write(Files.readAllBytes(fs));
    }
    try (FileDisk d = FileDisk.open(disk)) {
      Analysis a = Filesystems.analyze(d, offset, 16 << 20);
      assertTrue(a.map().isPresent(), a.note());
      assertEquals(alone.used(), a.map().get().used());
      assertEquals(new Extent(0, alone.used().get(0).length()), a.map().get().used().get(0));
    }
  }

  @Test
  void aVolumeCutShortIsNotTrusted() throws Exception {
    assumeTool("mke2fs");
    Path fs = FsImages.blank(tmp.resolve("fs.img"), 16 << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", fs.toString());
    try (FileDisk d = FileDisk.open(fs)) {
      Analysis a = Filesystems.analyze(d, 0, 8 << 20);
      assertTrue(a.map().isEmpty());
      assertTrue(a.note().contains("larger than its volume"), a.note());
    }
  }

  private static void assumeTool(String tool) {
    Root.assume(Cmd.exists(tool), tool + " not installed");
  }

  private static void write(Path image, long at, byte[] bytes) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.seek(at);
      f.write(bytes);
    }
  }
}
