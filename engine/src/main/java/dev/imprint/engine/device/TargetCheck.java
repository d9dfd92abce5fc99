package dev.imprint.engine.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The safety questions asked of every target before the first byte is written: does it exist, is it
 * the running system or swap, what is mounted from it, is it named twice or the source itself, is
 * it large enough. Each refusal is one line naming the target and the fix.
 */
public final class TargetCheck {
  private final SystemDisks disks;

  public TargetCheck(SystemDisks disks) {
    this.disks = disks;
  }

  /**
   * A target that passed inspection: a block device, or a regular file (maybe new).
   *
   * @param spec as the user named it
   * @param path the file or device node to write (the device under {@code namedMountPoint})
   * @param namedMountPoint the mounted volume the user named instead of its device, else null
   */
  public record Plan(
      String spec,
      Path path,
      DeviceInfo info,
      boolean blockDevice,
      List<Mount> mounts,
      Path namedMountPoint) {
    public String model() {
      return info == null ? "new file" : info.model();
    }

    public long size() {
      return info == null ? 0 : info.size();
    }
  }

  /** A target refused before anything was written. */
  public static final class Refused extends IOException {
    public Refused(String message) {
      super(message);
    }
  }

  public Plan inspect(String spec) throws IOException {
    Path p = Path.of(spec);
    FileKind kind = FileKind.probe(p);
    if (kind == FileKind.MISSING) {
      Path dir = p.toAbsolutePath().getParent();
      if (spec.startsWith("/dev/")) {
        throw new Refused("target " + spec + " does not exist: check the device name (lsblk)");
      }
      if (dir == null || FileKind.probe(dir) != FileKind.DIRECTORY) {
        throw new Refused(
            "target " + spec + " cannot be created: directory " + dir + " does not exist");
      }
      return new Plan(spec, p, null, false, List.of(), null);
    }
    Path mountPoint = null;
    if (kind == FileKind.DIRECTORY) {
      // asr's own examples name a mounted volume by its path: that means the device under it.
      Optional<Mount> m = disks.mountAt(p);
      Optional<Path> dev = m.flatMap(disks::deviceOf);
      if (dev.isEmpty()) {
        throw new Refused(
            "target "
                + spec
                + (m.isPresent()
                    ? " is a mounted " + m.get().fsType() + " with no block device under it"
                    : " is a directory, not a mounted volume")
                + ": give a block device, a partition, an image file, or the mount point of a"
                + " volume");
      }
      mountPoint = p;
      p = dev.get();
    }
    DeviceInfo info = DeviceInfo.probe(p);
    if (!info.isBlockDevice()) {
      if (!Files.isWritable(p)) {
        throw new Refused("target " + spec + " is not writable: check its permissions");
      }
      refuseMountedThroughLoops(spec, info);
      return new Plan(spec, p, info, false, List.of(), null);
    }
    if (disks.holdsRoot(info)) {
      throw new Refused(
          "target "
              + spec
              + " holds the running system (/): imprint never erases it; choose another disk");
    }
    if (disks.holdsActiveSwap(info)) {
      throw new Refused(
          "target " + spec + " holds active swap: run swapoff on it first, or choose another disk");
    }
    if (info.readOnly()) {
      throw new Refused(
          "target " + spec + " is read-only (write-protect switch or blockdev --setro): fix that");
    }
    refuseMountedThroughLoops(spec, info);
    return new Plan(spec, p, info, true, disks.mountsOn(info), mountPoint);
  }

  /** A file (or loop device) that another, mounted loop device also covers is in use. */
  private void refuseMountedThroughLoops(String spec, DeviceInfo info) throws IOException {
    List<Mount> through = disks.mountsThroughOtherLoops(info);
    if (!through.isEmpty()) {
      Mount m = through.get(0);
      throw new Refused(
          "target "
              + spec
              + " is in use: "
              + m.device()
              + " (a loop device over the same file) is mounted on "
              + m.mountPoint()
              + ": unmount it and detach it (losetup -d "
              + m.device()
              + ") first");
    }
  }

  /** Refuses the same device twice, and a target that is (or holds, or is part of) the source. */
  public void checkDistinct(List<Plan> plans, Path sourcePath) throws IOException {
    for (int i = 0; i < plans.size(); i++) {
      for (int j = i + 1; j < plans.size(); j++) {
        if (related(plans.get(i), plans.get(j))) {
          throw new Refused(
              "targets "
                  + plans.get(i).spec()
                  + " and "
                  + plans.get(j).spec()
                  + " are the same disk (or one is part of the other): name each disk once");
        }
      }
    }
    // A named pipe holds no disk that a target could be (and probing it as one refused it).
    if (sourcePath == null || !FileKind.probe(sourcePath).holdsDisk()) {
      return;
    }
    DeviceInfo src = DeviceInfo.probe(sourcePath);
    for (Plan p : plans) {
      if (p.info() != null && disks.sameOrRelated(p.info(), src)) {
        throw new Refused(
            "target "
                + p.spec()
                + " is the source "
                + sourcePath
                + " (or holds it): a disk cannot be restored onto itself");
      }
    }
  }

  private boolean related(Plan a, Plan b) {
    if (a.info() == null || b.info() == null) {
      return where(a.path()).equals(where(b.path()));
    }
    return disks.sameOrRelated(a.info(), b.info());
  }

  /**
   * Where a file yet to be created will be: its directory with symbolic links resolved, so two
   * spellings of one directory name one file.
   */
  private static Path where(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    Path dir = abs.getParent();
    try {
      return dir == null ? abs : dir.toRealPath().resolve(abs.getFileName());
    } catch (IOException e) {
      return abs;
    }
  }

  /**
   * A block device must reach {@code needed} bytes (where the image's data and partitions end); a
   * file grows to the image.
   */
  public void checkSize(Plan p, long needed, long imageSize) throws IOException {
    if (p.blockDevice() && needed > p.size()) {
      throw new Refused(
          "target "
              + p.spec()
              + " ("
              + p.size()
              + " bytes) is smaller than the image needs ("
              + needed
              + " bytes"
              + (needed == imageSize ? "" : " of its " + imageSize + "-byte disk")
              + "): use a larger disk");
    }
  }

  /** Unmounts everything mounted from a target, after the user agreed to erase it. */
  public List<Mount> unmountAll(Plan p) throws IOException {
    List<Mount> done = new ArrayList<>();
    for (Mount m : disks.mountsOn(p.info())) {
      disks.unmount(m);
      done.add(m);
    }
    return done;
  }
}
