package dev.imprint.engine.filesystem;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Grows a restored filesystem to fill its partition with the filesystem's own tool (resize2fs,
 * xfs_growfs, btrfs filesystem resize). The partition is reached through a loop device over the
 * target with an offset, which works the same for whole disks, partitions and image files.
 */
public final class Grow {
  /** The kernel refuses to resize a btrfs device to less than this (EINVAL from the ioctl). */
  static final long BTRFS_MIN_RESIZE = 256L << 20;

  private Grow() {}

  /** What happened, for the user: "ext4 grown to 2147483648 bytes with resize2fs". */
  public static String grow(Path target, long offset, long length, String filesystem)
      throws IOException {
    if (filesystem.equals("btrfs") && length < BTRFS_MIN_RESIZE) {
      throw new IOException(
          "cannot grow btrfs to "
              + length
              + " bytes: the kernel resizes btrfs only to 256 MiB ("
              + BTRFS_MIN_RESIZE
              + " bytes) or more");
    }
    String loop = attach(target, offset, length, false);
    try {
      switch (filesystem) {
        case "ext2", "ext3", "ext4" -> {
          // resize2fs insists on a freshly checked filesystem.
          runAllowing(new int[] {0, 1}, "e2fsck", "-f", "-y", loop);
          run("resize2fs", loop);
          return filesystem + " grown to fill " + length + " bytes with resize2fs";
        }
        case "xfs", "btrfs" -> {
          Path mnt = Files.createTempDirectory("imprint-grow");
          try {
            run("mount", "-t", filesystem, loop, mnt.toString());
            try {
              if (filesystem.equals("xfs")) {
                run("xfs_growfs", mnt.toString());
              } else {
                run("btrfs", "filesystem", "resize", "max", mnt.toString());
              }
            } finally {
              run("umount", mnt.toString());
            }
          } finally {
            Files.deleteIfExists(mnt);
          }
          return filesystem + " grown to fill " + length + " bytes";
        }
        default ->
            throw new IOException(
                "cannot grow "
                    + (filesystem.isEmpty() ? "an unrecognised filesystem" : filesystem)
                    + ": imprint grows ext2/3/4, xfs and btrfs; grow it with its own tool");
      }
    } finally {
      runAllowing(new int[] {0, 1}, "losetup", "-d", loop);
    }
  }

  /**
   * A loop device over [offset, offset + length) of {@code target}; with {@code directIo} it reads
   * and writes the target past the page cache. Detach it with {@code losetup -d}.
   */
  static String attach(Path target, long offset, long length, boolean directIo) throws IOException {
    List<String> argv = new ArrayList<>(List.of("losetup", "--find", "--show"));
    if (directIo) {
      argv.add("--direct-io=on");
    }
    argv.addAll(
        List.of(
            "--offset",
            Long.toString(offset),
            "--sizelimit",
            Long.toString(length),
            target.toString()));
    return run(argv.toArray(String[]::new)).trim();
  }

  static String run(String... argv) throws IOException {
    return runAllowing(new int[] {0}, argv);
  }

  static String runAllowing(int[] ok, String... argv) throws IOException {
    return runAllowing(TOOL_TIMEOUT, ok, argv);
  }

  /** The longest a tool may run (a whole-disk e2fsck on a slow disk stays well under it). */
  static final java.time.Duration TOOL_TIMEOUT = java.time.Duration.ofMinutes(30);

  /**
   * Runs a tool with no input (a question it asks reads end of input) and its output in a file, so
   * the timeout holds even when it hangs with its output open; on timeout it and its children are
   * killed.
   */
  static String runAllowing(java.time.Duration timeout, int[] ok, String... argv)
      throws IOException {
    Path log = Files.createTempFile("imprint-tool", ".log");
    try {
      Process p;
      try {
        p =
            new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(log.toFile())
                .redirectErrorStream(true)
                .start();
      } catch (IOException e) {
        throw new IOException(
            argv[0]
                + " is not installed: install it (imprint runs it to grow or renew filesystems)");
      }
      try {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
          throw new IOException(
              String.join(" ", argv)
                  + " did not finish in "
                  + timeout.toSeconds()
                  + " s and was stopped: check the target disk (dmesg)");
        }
      } catch (InterruptedException e) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while running " + argv[0]);
      }
      String out = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
      return checked(p.exitValue(), out, ok, argv);
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static String checked(int exit, String out, int[] ok, String... argv) throws IOException {
    for (int code : ok) {
      if (exit == code) {
        return out;
      }
    }
    throw new IOException(String.join(" ", argv) + " failed (exit " + exit + "): " + reason(out));
  }

  /**
   * The line of a failed tool's output that says why: the last "ERROR" line if there is one (btrfs
   * prints its error on stderr before its buffered progress on stdout), else the last line.
   */
  static String reason(String out) {
    List<String> lines = new ArrayList<>(out.lines().filter(l -> !l.isBlank()).toList());
    for (int i = lines.size() - 1; i >= 0; i--) {
      if (lines.get(i).startsWith("ERROR")) {
        return lines.get(i).strip();
      }
    }
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1).strip();
  }
}
