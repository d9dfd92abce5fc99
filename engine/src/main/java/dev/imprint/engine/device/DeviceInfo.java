package dev.imprint.engine.device;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the kernel says about a target, read from sysfs without opening it.
 *
 * @param path the path as given (may be a symlink such as /dev/disk/by-id/...)
 * @param name the kernel name: loop3, sda, sda1, nvme0n1p2; the file name for regular files
 * @param majorMinor "major:minor" for block devices, "" for files
 * @param size bytes
 * @param sectorSize logical sector size in bytes (512 for files)
 * @param model vendor and model from sysfs, "loop: BACKING_FILE" for loop devices, "file" for
 *     regular files, "unknown model" when the kernel does not say
 * @param isPartition a partition of {@link #parentDisk()}
 * @param parentDisk the whole disk's kernel name, for partitions
 * @param removable the kernel marks the disk removable (card readers, some USB sticks)
 * @param readOnly the kernel marks the device read-only (e.g. a write-protected card)
 */
public record DeviceInfo(
    Path path,
    String name,
    String majorMinor,
    long size,
    int sectorSize,
    String model,
    boolean isBlockDevice,
    boolean isPartition,
    Optional<String> parentDisk,
    boolean removable,
    boolean readOnly) {

  static final Path SYS_CLASS_BLOCK = Path.of("/sys/class/block");
  private static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");

  /** The whole disk this lives on: the parent of a partition, else the device itself. */
  public String diskName() {
    return parentDisk.orElse(name);
  }

  /**
   * Describes the block device or regular file at {@code path}, following symlinks. Fails with a
   * {@link DeviceException} when it does not exist or is something else (a directory, a char
   * device).
   */
  public static DeviceInfo probe(Path path) throws DeviceException {
    Path real;
    FileKind kind;
    try {
      real = path.toRealPath();
      kind = FileKind.of(real);
    } catch (NoSuchFileException e) {
      throw DeviceException.of(path, "open", DeviceException.ENOENT, e);
    } catch (IOException e) {
      throw DeviceException.of(path, "inspect", e);
    }
    try {
      if (kind == FileKind.REGULAR_FILE) {
        return new DeviceInfo(
            path,
            real.getFileName().toString(),
            "",
            Files.size(real),
            512,
            "file",
            false,
            false,
            Optional.empty(),
            false,
            !Files.isWritable(real));
      }
      if (kind != FileKind.BLOCK_DEVICE) {
        throw new DeviceException(
            path
                + " is neither a block device nor a regular file: give a disk (/dev/sdX), a"
                + " partition or an image file");
      }
      long rdev = (Long) Files.getAttribute(real, "unix:rdev");
      String majorMinor = majorMinor(rdev);
      Path sysDir = SYS_DEV_BLOCK.resolve(majorMinor).toRealPath();
      return fromSysfs(path, sysDir, majorMinor);
    } catch (DeviceException e) {
      throw e;
    } catch (IOException e) {
      throw new DeviceException(
          "cannot read what the kernel knows about "
              + path
              + " (sysfs: "
              + e.getMessage()
              + "): is /sys mounted?",
          0,
          e);
    }
  }

  /** Describes a block device by its kernel name (e.g. "dm-0"), for holders and slaves. */
  public static DeviceInfo ofKernelName(String name) throws DeviceException {
    Path sysDir;
    try {
      sysDir = SYS_CLASS_BLOCK.resolve(name).toRealPath();
      String majorMinor = readSys(sysDir.resolve("dev"));
      return fromSysfs(Path.of("/dev", name), sysDir, majorMinor);
    } catch (IOException e) {
      throw new DeviceException("no block device named " + name + " (" + e.getMessage() + ")");
    }
  }

  /** "major:minor" of a Linux dev_t, decoded as glibc's gnu_dev_major/minor do. */
  static String majorMinor(long dev) {
    long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
    long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
    return major + ":" + minor;
  }

  private static DeviceInfo fromSysfs(Path path, Path sysDir, String majorMinor)
      throws IOException {
    String name = sysDir.getFileName().toString();
    boolean partition = Files.exists(sysDir.resolve("partition"));
    Path diskDir = partition ? sysDir.getParent() : sysDir;
    Optional<String> parent =
        partition ? Optional.of(diskDir.getFileName().toString()) : Optional.empty();
    long size = Long.parseLong(readSys(sysDir.resolve("size"))) * 512; // always 512-byte units
    int sector = parseInt(readSysOr(diskDir.resolve("queue/logical_block_size"), "512"), 512);
    return new DeviceInfo(
        path,
        name,
        majorMinor,
        size,
        sector,
        model(diskDir),
        true,
        partition,
        parent,
        "1".equals(readSysOr(diskDir.resolve("removable"), "0")),
        "1".equals(readSysOr(sysDir.resolve("ro"), "0")));
  }

  private static String model(Path diskDir) {
    String backing = readSysOr(diskDir.resolve("loop/backing_file"), "");
    if (!backing.isEmpty()) {
      return "loop: " + backing;
    }
    if (diskDir.getFileName().toString().startsWith("loop")) {
      return "loop: (no backing file)";
    }
    String vendor = readSysOr(diskDir.resolve("device/vendor"), "");
    String model = readSysOr(diskDir.resolve("device/model"), "");
    String dmName = readSysOr(diskDir.resolve("dm/name"), "");
    String text = (vendor + " " + model).trim().replaceAll("\\s+", " ");
    if (text.isEmpty() && !dmName.isEmpty()) {
      text = "device mapper: " + dmName;
    }
    return text.isEmpty() ? "unknown model" : text;
  }

  static String readSys(Path file) throws IOException {
    return new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
  }

  static String readSysOr(Path file, String fallback) {
    try {
      return readSys(file);
    } catch (IOException e) {
      return fallback;
    }
  }

  private static int parseInt(String s, int fallback) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }
}
