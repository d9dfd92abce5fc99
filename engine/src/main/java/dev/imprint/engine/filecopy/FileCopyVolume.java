package dev.imprint.engine.filecopy;

import dev.imprint.engine.job.Refusal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A side of a file copy as a directory: a directory as it is, or a volume (a partition, or a file
 * holding a filesystem) that this process mounts on a private directory and unmounts on close. A
 * source is mounted through a read-only loop device with journal replay off (ext4 {@code noload},
 * XFS {@code norecovery}): a plain read-only mount of a dirty ext4 or XFS replays its journal and
 * writes to the source.
 */
public final class FileCopyVolume implements AutoCloseable {
  private final Path dir;
  private final Path mountPoint;
  private final String loop;

  private FileCopyVolume(Path dir, Path mountPoint, String loop) {
    this.dir = dir;
    this.mountPoint = mountPoint;
    this.loop = loop;
  }

  /** The directory to copy from or onto. */
  public Path dir() {
    return dir;
  }

  /** Whether this process mounted it. */
  public boolean mounted() {
    return mountPoint != null;
  }

  /** The filesystem type on a block device or file, or null when none is recognised. */
  public static String filesystem(Path device) {
    Run r = run("blkid", "-p", "-o", "value", "-s", "TYPE", device.toString());
    String type = r.out.trim();
    return r.code == 0 && !type.isEmpty() ? type : null;
  }

  /** {@code name} as a source directory: mounted read-only first when it is a volume. */
  public static FileCopyVolume source(String name) throws Refusal {
    Path p = Path.of(name);
    if (Files.isDirectory(p)) {
      return new FileCopyVolume(p, null, null);
    }
    if (!Files.exists(p)) {
      throw new Refusal(
          "source "
              + name
              + " does not exist: name a directory, a mounted volume or a volume image");
    }
    String fs = filesystem(p);
    if (fs == null) {
      throw new Refusal(
          "source "
              + name
              + " holds no filesystem Imprint can mount for a file copy: name a directory or a"
              + " volume; an Imprint image or a whole-disk image must first be restored to a file"
              + " (--target vol.img --erase) and that file copied");
    }
    String loop = null;
    Path mp = null;
    try {
      Run attach = run("losetup", "--find", "--show", "--read-only", p.toString());
      if (attach.code != 0) {
        throw new Refusal("cannot attach " + name + " read-only: " + attach.err.trim());
      }
      loop = attach.out.trim();
      mp = Files.createTempDirectory("imprint-filecopy-src-");
      String opts =
          "ro" + (fs.startsWith("ext") ? ",noload" : fs.equals("xfs") ? ",norecovery" : "");
      Run m = run("mount", "-t", fs, "-o", opts, loop, mp.toString());
      if (m.code != 0) {
        throw new Refusal("cannot mount the " + fs + " on " + name + " read-only: " + m.err.trim());
      }
      return new FileCopyVolume(mp, mp, loop);
    } catch (IOException | RuntimeException e) {
      cleanup(mp, loop, false);
      if (e instanceof Refusal r) {
        throw r;
      }
      throw new Refusal("cannot mount " + name + ": " + e.getMessage());
    }
  }

  /**
   * {@code name} as a target directory: a directory or mount point as it is; a partition or file
   * with a filesystem is mounted read-write here. Anything else is refused with the two modes.
   */
  public static FileCopyVolume target(String name) throws Refusal {
    Path p = Path.of(name);
    if (Files.isDirectory(p)) {
      return new FileCopyVolume(p, null, null);
    }
    if (!Files.exists(p)) {
      throw new Refusal(
          "target "
              + name
              + " does not exist: without --erase, restore copies files onto a"
              + " mounted volume or a directory; with --erase it restores block by block onto a"
              + " disk, partition or image file");
    }
    String fs = filesystem(p);
    if (fs == null) {
      throw new Refusal(
          "target "
              + name
              + " holds no filesystem to copy files onto: restore has two modes; with --erase it"
              + " erases the target and restores block by block, without it it copies files onto"
              + " a mounted volume (or a partition with a filesystem); add --erase to agree to"
              + " erasing it");
    }
    Path mp = null;
    try {
      mp = Files.createTempDirectory("imprint-filecopy-tgt-");
      Run m = run("mount", "-t", fs, p.toString(), mp.toString());
      if (m.code != 0) {
        throw new Refusal(
            "cannot mount the "
                + fs
                + " on "
                + name
                + ": "
                + m.err.trim()
                + " (if it is mounted elsewhere, name its mount point)");
      }
      return new FileCopyVolume(mp, mp, null);
    } catch (IOException e) {
      cleanup(mp, null, false);
      if (e instanceof Refusal r) {
        throw r;
      }
      throw new Refusal("cannot mount " + name + ": " + e.getMessage());
    }
  }

  @Override
  public void close() {
    cleanup(mountPoint, loop, mountPoint != null);
  }

  private static void cleanup(Path mp, String loop, boolean mounted) {
    if (mp != null) {
      if (mounted) {
        run("umount", mp.toString());
      }
      try {
        Files.deleteIfExists(mp);
      } catch (IOException ignored) {
        // still mounted (busy): left for the user, named in the log
      }
    }
    if (loop != null) {
      run("losetup", "-d", loop);
    }
  }

  private record Run(int code, String out, String err) {}

  private static Run run(String... argv) {
    try {
      Path out = Files.createTempFile("imprint-cmd-", ".out");
      Path err = Files.createTempFile("imprint-cmd-", ".err");
      try {
        List<String> a = new ArrayList<>(List.of(argv));
        Process p =
            new ProcessBuilder(a)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          return new Run(-1, "", argv[0] + " did not finish in 120 s");
        }
        return new Run(
            p.exitValue(),
            Files.readString(out, StandardCharsets.ISO_8859_1),
            Files.readString(err, StandardCharsets.ISO_8859_1));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      return new Run(-1, "", "cannot run " + argv[0] + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Run(-1, "", "interrupted");
    }
  }
}
