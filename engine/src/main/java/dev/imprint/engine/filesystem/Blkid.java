package dev.imprint.engine.filesystem;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import dev.imprint.engine.device.LibC;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libblkid's view of a volume, a second opinion before a filesystem's map is trusted. Imprint's
 * readers know five filesystems; libblkid knows dozens (exFAT, LVM2, MD RAID, f2fs, ZFS, ...). A
 * volume formatted with one of those over an old ext4 or btrfs keeps the old superblock (at 1 KiB
 * or 64 KiB, past where most formatters write), and reading its map would skip the new filesystem's
 * blocks. libblkid's safe probe reports such a volume as ambivalent, or names the filesystem it
 * really holds.
 */
final class Blkid {
  private static final Logger log = LoggerFactory.getLogger(Blkid.class);
  private static final boolean LOADED = load();

  /** What the probe found. */
  enum Outcome {
    /** One filesystem, named by {@link Result#type()}. */
    ONE,
    /** No filesystem signature at all. */
    NONE,
    /** More than one filesystem's signature. */
    AMBIVALENT,
    /** No libblkid, no path to probe, or the probe failed: no second opinion. */
    UNAVAILABLE
  }

  record Result(Outcome outcome, String type) {
    static final Result UNAVAILABLE = new Result(Outcome.UNAVAILABLE, "");
  }

  private Blkid() {}

  /** Probes [offset, offset + length) of the file or device at {@code path} for superblocks. */
  static Result probe(Path path, long offset, long length) {
    if (!LOADED) {
      return Result.UNAVAILABLE;
    }
    int fd;
    try {
      fd = LibC.INSTANCE.open(path.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
    } catch (LastErrorException e) {
      log.debug("blkid: cannot open {}: errno {}", path, e.getErrorCode());
      return Result.UNAVAILABLE;
    }
    Pointer pr = Lib.blkid_new_probe();
    try {
      if (pr == null || Lib.blkid_probe_set_device(pr, fd, offset, length) != 0) {
        return Result.UNAVAILABLE;
      }
      Lib.blkid_probe_enable_partitions(pr, 0);
      Lib.blkid_probe_enable_superblocks(pr, 1);
      int rc = Lib.blkid_do_safeprobe(pr);
      return switch (rc) {
        case 0 -> {
          PointerByReference value = new PointerByReference();
          String type =
              Lib.blkid_probe_lookup_value(pr, "TYPE", value, null) == 0
                  ? value.getValue().getString(0)
                  : "";
          yield new Result(Outcome.ONE, type);
        }
        case 1 -> new Result(Outcome.NONE, "");
        case -2 -> new Result(Outcome.AMBIVALENT, "");
        default -> Result.UNAVAILABLE;
      };
    } finally {
      if (pr != null) {
        Lib.blkid_free_probe(pr);
      }
      LibC.INSTANCE.close(fd);
    }
  }

  /** True when libblkid's name and Imprint's name the same filesystem family. */
  static boolean sameFamily(String blkidType, String ours) {
    if (blkidType.startsWith("ext") && ours.startsWith("ext")) {
      return true;
    }
    if (ours.equals("vfat")) {
      return blkidType.equals("vfat") || blkidType.equals("msdos");
    }
    return blkidType.equals(ours);
  }

  private static boolean load() {
    try {
      Native.register(Lib.class, NativeLibrary.getInstance("libblkid.so.1"));
      return true;
    } catch (UnsatisfiedLinkError | IllegalStateException e) {
      log.info("no libblkid ({}): filesystem maps go without its second opinion", e.getMessage());
      return false;
    }
  }

  /** JNA direct mapping of the low-level probing calls (util-linux libblkid, soname 1). */
  private static final class Lib {
    static native Pointer blkid_new_probe();

    static native int blkid_probe_set_device(Pointer pr, int fd, long offset, long size);

    static native int blkid_probe_enable_partitions(Pointer pr, int enable);

    static native int blkid_probe_enable_superblocks(Pointer pr, int enable);

    static native int blkid_do_safeprobe(Pointer pr);

    static native int blkid_probe_lookup_value(
        Pointer pr, String name, PointerByReference data, Pointer len);

    static native void blkid_free_probe(Pointer pr);
  }
}
