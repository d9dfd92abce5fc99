package dev.imprint.engine.filesystem;

import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;

/**
 * Fresh filesystem identities ({@code --new-ids}), each as blkid prints it. ext2/3/4, XFS and btrfs
 * get theirs from their own tools (tune2fs -U, xfs_admin -U, btrfstune -U), which know every
 * structure and checksum the UUID is part of, run on a loop device over the volume with direct I/O;
 * FAT's and NTFS's volume serials are exact edits of their boot sectors (and the backup boot sector
 * each keeps), which no checksum covers.
 */
public final class FilesystemIds {
  private static final int[] OK_OR_FIXED = {0, 1};

  /** Bytes to write at {@code offset} of the target (not of the volume). */
  public record Edit(long offset, byte[] bytes) {}

  /**
   * A volume's new identity.
   *
   * @param uuid as blkid prints it: a UUID, or FAT's XXXX-XXXX, or NTFS's 16 hex digits
   * @param edits the exact edits to make and read back (FAT, NTFS); empty when a tool made the
   *     change, which {@link #check} then confirms
   */
  public record Renewed(String filesystem, String uuid, List<Edit> edits) {}

  private FilesystemIds() {}

  /** Whether {@code filesystem} (a {@link FilesystemReader#name()}) can be given a new id. */
  public static boolean renewable(String filesystem) {
    return List.of("ext4", "xfs", "btrfs", "vfat", "ntfs").contains(filesystem);
  }

  /** The programs renewing {@code filesystem} needs (the tool, losetup and the checker). */
  public static List<String> tools(String filesystem) {
    return switch (filesystem) {
      case "ext4" -> List.of("losetup", "e2fsck", "tune2fs");
      case "xfs" -> List.of("losetup", "xfs_admin", "xfs_repair");
      case "btrfs" -> List.of("losetup", "btrfstune", "btrfs");
      default -> List.of();
    };
  }

  /**
   * Gives the volume [offset, offset + length) of {@code target} a new identity: tools change it at
   * once; exact edits are returned for the caller to write.
   */
  public static Renewed renew(
      Path target,
      RandomAccessDisk disk,
      long offset,
      long length,
      String filesystem,
      Random random)
      throws IOException {
    return switch (filesystem) {
      case "vfat" -> fat(disk, offset, random);
      case "ntfs" -> ntfs(disk, offset, length, random);
      case "ext4", "xfs", "btrfs" -> tool(target, offset, length, filesystem, random);
      default -> throw new IOException("cannot give " + filesystem + " a new id");
    };
  }

  private static Renewed tool(
      Path target, long offset, long length, String filesystem, Random random) throws IOException {
    byte[] b = new byte[16];
    random.nextBytes(b);
    ByteBuffer bb = ByteBuffer.wrap(b);
    String uuid =
        new UUID(bb.getLong() & ~0xF000L | 0x4000L, bb.getLong() & ~(3L << 62) | 1L << 63)
            .toString();
    String loop = Grow.attach(target, offset, length, true);
    try {
      switch (filesystem) {
        case "ext4" -> {
          // tune2fs rewrites metadata checksums only on a freshly checked filesystem.
          Grow.runAllowing(OK_OR_FIXED, "e2fsck", "-f", "-p", loop);
          Grow.run("tune2fs", "-U", uuid, loop);
        }
        case "xfs" -> Grow.run("xfs_admin", "-U", uuid, loop);
        default -> Grow.run("btrfstune", "-f", "-U", uuid, loop);
      }
    } finally {
      Grow.runAllowing(OK_OR_FIXED, "losetup", "-d", loop);
    }
    return new Renewed(filesystem, uuid, List.of());
  }

  /**
   * After a tool changed the id: the superblock, read from {@code device} (whose cache the caller
   * dropped), holds it, and the filesystem's own checker (read-only) passes. Returns why not, or
   * null.
   */
  public static String check(TargetDevice device, long offset, long length, Renewed r)
      throws IOException {
    Path target = device.path();
    if (!r.edits().isEmpty()) {
      return null;
    }
    long at =
        switch (r.filesystem()) {
          case "ext4" -> 1024 + 0x68;
          case "xfs" -> 32;
          default -> 0x10000 + 0x20;
        };
    ByteBuffer b = ByteBuffer.allocate(16);
    device.read(b, offset + at);
    String found = new UUID(b.getLong(0), b.getLong(8)).toString();
    if (!found.equals(r.uuid())) {
      return r.filesystem() + " superblock holds UUID " + found + ", not the new " + r.uuid();
    }
    String loop = Grow.attach(target, offset, length, true);
    try {
      switch (r.filesystem()) {
        case "ext4" -> Grow.run("e2fsck", "-f", "-n", loop);
        case "xfs" -> Grow.run("xfs_repair", "-n", loop);
        default -> Grow.run("btrfs", "check", "--readonly", loop);
      }
    } catch (IOException e) {
      return r.filesystem() + " check after the new UUID failed: " + e.getMessage();
    } finally {
      Grow.runAllowing(OK_OR_FIXED, "losetup", "-d", loop);
    }
    return null;
  }

  /** FAT12/16 keep the serial at 39, FAT32 at 67 and again in its backup boot sector. */
  private static Renewed fat(RandomAccessDisk disk, long offset, Random random) throws IOException {
    byte[] boot = sector(disk, offset, 512);
    ByteBuffer b = ByteBuffer.wrap(boot).order(ByteOrder.LITTLE_ENDIAN);
    boolean fat32 = (b.getShort(22) & 0xffff) == 0;
    int sig = fat32 ? 66 : 38;
    // 0x29: the extended boot record; 0x28: its short form (serial, no label), which has it too.
    if (boot[sig] != 0x29 && boot[sig] != 0x28) {
      throw new IOException("this FAT volume has no extended boot record to hold a serial");
    }
    int serial = random.nextInt();
    List<Edit> edits = new ArrayList<>();
    b.putInt(sig + 1, serial);
    edits.add(new Edit(offset, boot));
    if (fat32) {
      int bytesPerSector = b.getShort(11) & 0xffff;
      int backup = b.getShort(50) & 0xffff;
      if (backup != 0 && backup != 0xffff) {
        long at = offset + (long) backup * bytesPerSector;
        byte[] copy = sector(disk, at, 512);
        if (Arrays.equals(copy, 0, 11, boot, 0, 11)) {
          ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(sig + 1, serial);
          edits.add(new Edit(at, copy));
        }
      }
    }
    String uuid = String.format("%04X-%04X", serial >>> 16, serial & 0xffff);
    return new Renewed("vfat", uuid, edits);
  }

  /** NTFS keeps a 64-bit serial at 72 of its boot sector and of the backup in its last sector. */
  private static Renewed ntfs(RandomAccessDisk disk, long offset, long length, Random random)
      throws IOException {
    byte[] boot = sector(disk, offset, 512);
    ByteBuffer b = ByteBuffer.wrap(boot).order(ByteOrder.LITTLE_ENDIAN);
    long old = b.getLong(72);
    long serial = random.nextLong();
    b.putLong(72, serial);
    List<Edit> edits = new ArrayList<>();
    edits.add(new Edit(offset, boot));
    int bytesPerSector = b.getShort(11) & 0xffff;
    long backup = b.getLong(40) * bytesPerSector;
    if (bytesPerSector >= 512 && backup > 0 && backup + 512 <= length) {
      byte[] copy = sector(disk, offset + backup, 512);
      ByteBuffer c = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
      if (new String(copy, 3, 8, StandardCharsets.US_ASCII).equals("NTFS    ")
          && c.getLong(72) == old) {
        c.putLong(72, serial);
        edits.add(new Edit(offset + backup, copy));
      }
    }
    return new Renewed("ntfs", String.format(Locale.ROOT, "%016X", serial), edits);
  }

  private static byte[] sector(RandomAccessDisk disk, long at, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    if (disk.read(b, at) < length) {
      throw new IOException("cannot read the boot sector at byte " + at);
    }
    return b.array();
  }
}
