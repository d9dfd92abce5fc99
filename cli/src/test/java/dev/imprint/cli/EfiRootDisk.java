package dev.imprint.cli;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The GPT disk the restore suites start from: a 16 MiB EFI FAT partition at 1 MiB holding a boot
 * loader ({@code BOOTX64.EFI}, also left beside the disk for comparison), and an ext4 root at 17
 * MiB made from a directory with {@code mke2fs -d}.
 */
final class EfiRootDisk {
  static final long MIB = 1L << 20;
  static final long EFI_OFFSET = 1 * MIB;
  static final long EFI_SIZE = 16 * MIB;
  static final long ROOT_OFFSET = 17 * MIB;

  private EfiRootDisk() {}

  /** The disk the foreign-format suites wrap: {@link #SAMPLE_SIZE}, a 24 MiB root. */
  static final long SAMPLE_SIZE = 48 * MIB;

  /**
   * Builds {@code dir/disk.img} for the foreign-format suites: its root holds two random files and
   * a text that compresses well.
   */
  static Path sample(Path dir) throws IOException {
    Path rootfs = Files.createDirectories(dir.resolve("rootfs"));
    for (int i = 0; i < 2; i++) {
      Files.write(rootfs.resolve("random-" + i + ".bin"), TestData.random(3 * MIB + i, 70 + i));
    }
    Files.writeString(rootfs.resolve("text.txt"), "a line that compresses well\n".repeat(100_000));
    return build(dir, rootfs, "root", 24 * MIB, SAMPLE_SIZE);
  }

  /** A new all-zero target file in {@code dir}, as large as the sample disk. */
  static Path sampleTarget(Path dir) throws IOException {
    Path t = Files.createTempFile(dir, "target", ".bin");
    TestData.setLength(t, SAMPLE_SIZE);
    return t;
  }

  /** Builds {@code dir/disk.img}, {@code diskSize} bytes, with a {@code rootSize}-byte root. */
  static Path build(Path dir, Path rootfs, String rootLabel, long rootSize, long diskSize)
      throws IOException {
    Path ext = dir.resolve("root.ext4");
    TestData.setLength(ext, rootSize);
    Cmd.run(
        "mke2fs",
        "-q",
        "-F",
        "-t",
        "ext4",
        "-L",
        rootLabel,
        "-d",
        rootfs.toString(),
        ext.toString());

    Path fat = dir.resolve("efi.fat");
    TestData.setLength(fat, EFI_SIZE);
    Cmd.run("mkfs.vfat", "-n", "EFI", fat.toString());
    Path loader = dir.resolve("BOOTX64.EFI");
    Files.write(loader, TestData.random(200 * 1024 + 3, 4));
    Cmd.run("mmd", "-i", fat.toString(), "::/EFI", "::/EFI/BOOT");
    Cmd.run("mcopy", "-i", fat.toString(), loader.toString(), "::/EFI/BOOT/BOOTX64.EFI");

    Path disk = dir.resolve("disk.img");
    TestData.setLength(disk, diskSize);
    Cmd.run(
        "sgdisk",
        "-o",
        "-n",
        "1:" + EFI_OFFSET / 512 + ":+" + EFI_SIZE / MIB + "M",
        "-t",
        "1:ef00",
        "-c",
        "1:EFI",
        "-n",
        "2:" + ROOT_OFFSET / 512 + ":+" + rootSize / MIB + "M",
        "-t",
        "2:8300",
        "-c",
        "2:root",
        disk.toString());
    TestData.copyInto(fat, disk, EFI_OFFSET);
    TestData.copyInto(ext, disk, ROOT_OFFSET);
    return disk;
  }
}
