package dev.imprint.engine.device;

import java.util.ArrayList;
import java.util.List;

/** Turns mountinfo's option strings back into what mount(2) takes. */
final class MountFlags {
  private MountFlags() {}

  // <sys/mount.h>
  private static final long MS_RDONLY = 1;
  private static final long MS_NOSUID = 2;
  private static final long MS_NODEV = 4;
  private static final long MS_NOEXEC = 8;
  private static final long MS_SYNCHRONOUS = 16;
  private static final long MS_DIRSYNC = 128;
  private static final long MS_NOATIME = 1024;
  private static final long MS_NODIRATIME = 2048;
  private static final long MS_RELATIME = 1 << 21;
  private static final long MS_STRICTATIME = 1 << 24;
  private static final long MS_LAZYTIME = 1 << 25;

  /** The per-mount flags of mountinfo's sixth field ("rw,nosuid,relatime"). */
  static long of(String options) {
    long flags = 0;
    for (String o : options.split(",")) {
      flags |=
          switch (o) {
            case "ro" -> MS_RDONLY;
            case "nosuid" -> MS_NOSUID;
            case "nodev" -> MS_NODEV;
            case "noexec" -> MS_NOEXEC;
            case "sync" -> MS_SYNCHRONOUS;
            case "dirsync" -> MS_DIRSYNC;
            case "noatime" -> MS_NOATIME;
            case "nodiratime" -> MS_NODIRATIME;
            case "relatime" -> MS_RELATIME;
            case "strictatime" -> MS_STRICTATIME;
            case "lazytime" -> MS_LAZYTIME;
            default -> 0;
          };
    }
    return flags;
  }

  /**
   * The filesystem options to pass back: all of them but "rw"/"ro" (flags already), or with {@code
   * minimal} only those that choose what is mounted (a btrfs subvolume).
   */
  static String data(String superOptions, boolean minimal) {
    List<String> keep = new ArrayList<>();
    for (String o : superOptions.split(",")) {
      if (o.isEmpty() || o.equals("rw") || o.equals("ro")) {
        continue;
      }
      if (!minimal || o.startsWith("subvol=") || o.startsWith("subvolid=")) {
        keep.add(o);
      }
    }
    return keep.isEmpty() ? null : String.join(",", keep);
  }
}
