package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FAT and NTFS serials as exact edits (no root): blkid reads the new serial, the filesystems' own
 * checkers find nothing wrong (FAT32's backup boot sector agrees), and only the serial's bytes
 * changed.
 */
class FilesystemIdsTest {
  @TempDir Path dir;

  private static String blkidUuid(Path file) {
    return Cmd.run("blkid", "-p", "-o", "value", "-s", "UUID", file.toString()).trim();
  }

  private static FilesystemIds.Renewed renewAndWrite(Path file, String fs) throws IOException {
    FilesystemIds.Renewed r;
    try (FileDisk disk = FileDisk.open(file)) {
      r = FilesystemIds.renew(file, disk, 0, disk.size(), fs, new Random(3));
    }
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      for (FilesystemIds.Edit e : r.edits()) {
        f.seek(e.offset());
        f.write(e.bytes());
      }
    }
    return r;
  }

  @Test
  void fatSerialsOfEveryFatSize() throws IOException {
    Root.assumeCommands("mkfs.vfat", "fsck.vfat", "blkid");
    for (String bits : List.of("12", "16", "32")) {
      Path f = dir.resolve("fat" + bits + ".img");
      TestData.setLength(
          f, bits.equals("12") ? 2L << 20 : bits.equals("16") ? 32L << 20 : 40L << 20);
      // FAT32 needs 65525 clusters or more: one sector each.
      String perCluster = bits.equals("32") ? "1" : "4";
      Cmd.run("mkfs.vfat", "-F", bits, "-s", perCluster, "-i", "12345678", f.toString());
      byte[] before = java.nio.file.Files.readAllBytes(f);
      FilesystemIds.Renewed r = renewAndWrite(f, "vfat");
      assertEquals(bits.equals("32") ? 2 : 1, r.edits().size(), bits);
      assertNotEquals("1234-5678", r.uuid());
      assertEquals(r.uuid(), blkidUuid(f), "FAT" + bits);
      Cmd.Result check = Cmd.result("fsck.vfat", "-n", f.toString());
      assertEquals(0, check.exitCode(), check::toString);
      byte[] after = java.nio.file.Files.readAllBytes(f);
      int changed = 0;
      for (int i = 0; i < after.length; i++) {
        changed += before[i] != after[i] ? 1 : 0;
      }
      assertEquals(true, changed <= 4 * r.edits().size(), "only the serial: " + changed);
    }
  }

  /**
   * Signature 0x28 (DOS 4.0's short extended boot record) holds a serial too, at the same place.
   */
  @Test
  void fatSerialBehindTheShortExtendedSignature() throws IOException {
    Root.assumeCommands("mkfs.vfat", "blkid");
    Path f = dir.resolve("fat16-28.img");
    TestData.setLength(f, 32L << 20);
    Cmd.run("mkfs.vfat", "-F", "16", "-i", "12345678", f.toString());
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.seek(38);
      raf.write(0x28);
    }
    FilesystemIds.Renewed r = renewAndWrite(f, "vfat");
    assertEquals(1, r.edits().size());
    assertNotEquals("1234-5678", r.uuid());
    assertEquals(r.uuid(), blkidUuid(f));
  }

  @Test
  void ntfsSerialInBothBootSectors() throws IOException {
    Root.assumeCommands("mkntfs", "ntfsfix", "blkid");
    Path f = dir.resolve("ntfs.img");
    TestData.setLength(f, 8L << 20);
    Cmd.run("mkntfs", "-F", "-Q", "-q", f.toString());
    String old = blkidUuid(f);
    FilesystemIds.Renewed r = renewAndWrite(f, "ntfs");
    assertEquals(2, r.edits().size(), "the boot sector and its backup");
    assertNotEquals(old, r.uuid());
    assertEquals(r.uuid(), blkidUuid(f));
    Cmd.Result check = Cmd.result("ntfsfix", "-n", f.toString());
    assertEquals(0, check.exitCode(), check::toString);
  }
}
