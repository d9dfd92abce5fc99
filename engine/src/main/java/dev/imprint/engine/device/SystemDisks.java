package dev.imprint.engine.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The safety questions asked before a target is touched: is it mounted, does the running system
 * live on it, is it swapping. Answers come fresh from /proc and /sys on every call; nothing is
 * cached, because docks come and go.
 *
 * <p>"Related" throughout means: the same device, a partition of it, or the disk it is a partition
 * of; and it reaches through device-mapper / LVM / md stacks via sysfs slaves and holders.
 */
public final class SystemDisks {
  private static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");

  private final Path mountinfo;
  private final Path swaps;

  /** Reads this process's mount table and the system's swap list. */
  public SystemDisks() {
    this(Path.of("/proc/self/mountinfo"), Path.of("/proc/swaps"));
  }

  /** For tests: alternative copies of /proc/self/mountinfo and /proc/swaps. */
  SystemDisks(Path mountinfo, Path swaps) {
    this.mountinfo = mountinfo;
    this.swaps = swaps;
  }

  /**
   * Every mount whose filesystem lives on {@code target}, one of its partitions, the disk it is a
   * partition of, or a device stacked on any of them (LVM, dm-crypt). Empty for regular files.
   */
  public List<Mount> mountsOn(DeviceInfo target) throws DeviceException {
    List<Mount> result = new ArrayList<>();
    if (!target.isBlockDevice()) {
      return result;
    }
    for (Mount m : mounts()) {
      Optional<String> name = blockName(m);
      if (name.isPresent() && backsRelated(name.get(), target)) {
        result.add(m);
      }
    }
    return result;
  }

  /** Whether the filesystem mounted at "/" lives on {@code target} or a related device. */
  public boolean holdsRoot(DeviceInfo target) throws DeviceException {
    if (!target.isBlockDevice()) {
      return false;
    }
    Mount root = null;
    for (Mount m : mounts()) {
      if (m.mountPoint().equals(Path.of("/"))) {
        root = m; // the last one is the one on top
      }
    }
    if (root == null) {
      return false;
    }
    Optional<String> name = blockName(root);
    return name.isPresent() && backsRelated(name.get(), target);
  }

  /** Whether an active swap partition (or a device stacked on it) is {@code target} or related. */
  public boolean holdsActiveSwap(DeviceInfo target) throws DeviceException {
    if (!target.isBlockDevice()) {
      return false;
    }
    List<String> lines = readLines(swaps);
    for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 2 || !f[1].equals("partition")) {
        continue; // swap files live on a mounted filesystem, which mountsOn already reports
      }
      Optional<String> name = nameOfPath(unescape(f[0]));
      if (name.isPresent() && backsRelated(name.get(), target)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether writing to one would touch the other: the same device, or one a partition of the other;
   * for regular files, the same inode.
   */
  public boolean sameOrRelated(DeviceInfo a, DeviceInfo b) {
    if (a.isBlockDevice()
        && b.isBlockDevice()
        && related(a.name(), a.parentDisk(), b.name(), b.parentDisk())) {
      return true;
    }
    // A loop device is its backing file: compare what lies underneath.
    Optional<Path> fa = backingFile(a);
    Optional<Path> fb = backingFile(b);
    return fa.isPresent() && fb.isPresent() && sameFile(fa.get(), fb.get());
  }

  /**
   * Mounts that live in the same file as {@code target} through another loop device: a file that a
   * mounted loop device covers (at any offset), or a loop device whose backing file another,
   * mounted loop device also covers. Writing the target would pull the ground from under them.
   */
  public List<Mount> mountsThroughOtherLoops(DeviceInfo target) throws DeviceException {
    List<Mount> result = new ArrayList<>();
    Optional<Path> file = backingFile(target);
    if (file.isEmpty()) {
      return result;
    }
    for (String name : listNames(DeviceInfo.SYS_CLASS_BLOCK, "")) {
      if (!name.startsWith("loop") || (target.isBlockDevice() && name.equals(target.diskName()))) {
        continue;
      }
      DeviceInfo loop;
      try {
        loop = DeviceInfo.ofKernelName(name);
      } catch (DeviceException e) {
        continue; // detached meanwhile
      }
      Optional<Path> other = backingFile(loop);
      if (other.isPresent() && sameFile(file.get(), other.get())) {
        result.addAll(mountsOn(loop));
      }
    }
    return result;
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.isSameFile(a, b);
    } catch (IOException e) {
      return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }
  }

  /** The regular file under a target: itself, or the backing file of a loop disk. */
  static Optional<Path> backingFile(DeviceInfo d) {
    if (!d.isBlockDevice()) {
      return Optional.of(d.path());
    }
    Path f = DeviceInfo.SYS_CLASS_BLOCK.resolve(d.diskName()).resolve("loop/backing_file");
    try {
      String name = Files.readString(f).trim();
      if (name.endsWith(" (deleted)")) {
        name = name.substring(0, name.length() - " (deleted)".length());
      }
      return name.isEmpty() ? Optional.empty() : Optional.of(Path.of(name));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * Unmounts {@code m}. Never lazily: a filesystem still in use must fail here, not vanish from the
   * namespace while a program keeps writing to it.
   */
  public void unmount(Mount m) throws DeviceException {
    try {
      LibC.INSTANCE.umount2(m.mountPoint().toString(), 0);
    } catch (LastErrorException e) {
      String what = "cannot unmount " + m.device() + " from " + m.mountPoint();
      int errno = e.getErrorCode();
      if (errno == DeviceException.EBUSY) {
        throw new DeviceException(
            what + ": busy (a program has files open there): close it and retry", errno, e);
      }
      if (errno == DeviceException.EPERM || errno == DeviceException.EACCES) {
        throw new DeviceException(what + ": permission denied: run as root (sudo)", errno, e);
      }
      if (errno == DeviceException.EINVAL && !mounts().contains(m)) {
        return; // already gone, which is what was wanted
      }
      throw new DeviceException(
          what + ": " + DeviceException.describe(m.mountPoint(), "unmount", errno), errno, e);
    }
  }

  /** The filesystem mounted exactly at {@code dir} (the last one, if several are stacked). */
  public Optional<Mount> mountAt(Path dir) throws DeviceException {
    Path real;
    try {
      real = dir.toRealPath();
    } catch (IOException e) {
      return Optional.empty();
    }
    Mount found = null;
    for (Mount m : mounts()) {
      if (m.mountPoint().equals(real)) {
        found = m;
      }
    }
    return Optional.ofNullable(found);
  }

  /** The block device node a mount lives on, if it lives on one. */
  public Optional<Path> deviceOf(Mount m) {
    return blockName(m).map(n -> Path.of("/dev", n)).filter(Files::exists);
  }

  /**
   * Mounts {@code m} back where it was, with the options it had (through mount(2), like {@link
   * #unmount}). Filesystem options the kernel showed but refuses to take back are dropped on a
   * second try, keeping a btrfs subvolume.
   */
  public void mount(Mount m) throws DeviceException {
    long flags = MountFlags.of(m.options());
    String data = MountFlags.data(m.superOptions(), false);
    try {
      LibC.INSTANCE.mount(
          m.device(), m.mountPoint().toString(), m.fsType(), new NativeLong(flags), data);
    } catch (LastErrorException first) {
      if (first.getErrorCode() != DeviceException.EINVAL) {
        throw mountFailed(m, first);
      }
      try {
        LibC.INSTANCE.mount(
            m.device(),
            m.mountPoint().toString(),
            m.fsType(),
            new NativeLong(flags),
            MountFlags.data(m.superOptions(), true));
      } catch (LastErrorException e) {
        throw mountFailed(m, e);
      }
    }
  }

  private static DeviceException mountFailed(Mount m, LastErrorException e) {
    int errno = e.getErrorCode();
    return new DeviceException(
        "cannot mount "
            + m.device()
            + " on "
            + m.mountPoint()
            + ": "
            + DeviceException.describe(m.mountPoint(), "mount", errno),
        errno,
        e);
  }

  /**
   * Devices stacked on {@code target} or its partitions (LVM volumes, dm-crypt, md arrays), nearest
   * first. Best effort: what sysfs shows.
   */
  public List<DeviceInfo> holders(DeviceInfo target) {
    List<DeviceInfo> result = new ArrayList<>();
    if (!target.isBlockDevice()) {
      return result;
    }
    Set<String> seen = new LinkedHashSet<>();
    Deque<String> todo = new ArrayDeque<>();
    todo.add(target.name());
    todo.addAll(partitionsOf(target.name()));
    while (!todo.isEmpty()) {
      for (String holder : listNames(DeviceInfo.SYS_CLASS_BLOCK.resolve(todo.poll()), "holders")) {
        if (seen.add(holder)) {
          todo.add(holder);
        }
      }
    }
    for (String name : seen) {
      try {
        result.add(DeviceInfo.ofKernelName(name));
      } catch (DeviceException e) {
        // vanished meanwhile
      }
    }
    return result;
  }

  /** The mount table, in order. */
  public List<Mount> mounts() throws DeviceException {
    List<Mount> result = new ArrayList<>();
    for (String line : readLines(mountinfo)) {
      // id parent major:minor root mount-point options [optional...] - fstype source super-options
      String[] f = line.split(" ");
      int dash = List.of(f).indexOf("-");
      if (f.length < 6 || dash < 6 || dash + 2 >= f.length) {
        continue;
      }
      boolean readOnly = List.of(f[5].split(",")).contains("ro");
      result.add(
          new Mount(
              unescape(f[dash + 2]),
              f[2],
              Path.of(unescape(f[4])),
              f[dash + 1],
              readOnly,
              f[5],
              dash + 3 < f.length ? unescape(f[dash + 3]) : ""));
    }
    return result;
  }

  /** The block device a mount lives on: its device number, else its source path. */
  private Optional<String> blockName(Mount m) {
    if (!m.majorMinor().startsWith("0:")) {
      Optional<String> name = nameOfDevNumber(m.majorMinor());
      if (name.isPresent()) {
        return name;
      }
    }
    // btrfs and friends report an anonymous 0:NN; the source path still names the device.
    return m.device().startsWith("/") ? nameOfPath(m.device()) : Optional.empty();
  }

  /** Whether {@code name}, or anything it is stacked on, is related to {@code target}. */
  private boolean backsRelated(String name, DeviceInfo target) {
    Set<String> seen = new LinkedHashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(name));
    while (!todo.isEmpty()) {
      String n = todo.poll();
      if (!seen.add(n)) {
        continue;
      }
      if (related(n, parentOf(n), target.name(), target.parentDisk())) {
        return true;
      }
      todo.addAll(listNames(DeviceInfo.SYS_CLASS_BLOCK.resolve(n), "slaves"));
    }
    return false;
  }

  private static boolean related(
      String a, Optional<String> aParent, String b, Optional<String> bParent) {
    return a.equals(b)
        || aParent.map(b::equals).orElse(false)
        || bParent.map(a::equals).orElse(false);
  }

  private static Optional<String> parentOf(String name) {
    Path dir = DeviceInfo.SYS_CLASS_BLOCK.resolve(name);
    if (!Files.exists(dir.resolve("partition"))) {
      return Optional.empty();
    }
    try {
      return Optional.of(dir.toRealPath().getParent().getFileName().toString());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static List<String> partitionsOf(String disk) {
    List<String> result = new ArrayList<>();
    try (DirectoryStream<Path> entries =
        Files.newDirectoryStream(DeviceInfo.SYS_CLASS_BLOCK.resolve(disk))) {
      for (Path p : entries) {
        if (Files.exists(p.resolve("partition"))) {
          result.add(p.getFileName().toString());
        }
      }
    } catch (IOException e) {
      // not a disk sysfs knows: no partitions
    }
    return result;
  }

  private static List<String> listNames(Path dir, String sub) {
    List<String> result = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir.resolve(sub))) {
      for (Path p : entries) {
        result.add(p.getFileName().toString());
      }
    } catch (IOException e) {
      // no such directory: nothing stacked
    }
    return result;
  }

  private static Optional<String> nameOfDevNumber(String majorMinor) {
    try {
      return Optional.of(SYS_DEV_BLOCK.resolve(majorMinor).toRealPath().getFileName().toString());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> nameOfPath(String path) {
    try {
      Path p = Path.of(path);
      if (FileKind.of(p) != FileKind.BLOCK_DEVICE) {
        return Optional.empty();
      }
      return nameOfDevNumber(DeviceInfo.majorMinor((Long) Files.getAttribute(p, "unix:rdev")));
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // e.g. "/dev/root", which has no node
    }
  }

  private static List<String> readLines(Path file) throws DeviceException {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new DeviceException(
          "cannot read " + file + " to check what is mounted: is /proc mounted?", 0, e);
    }
  }

  /** Undoes the octal escapes (\040 for space) the kernel uses in mountinfo and swaps. */
  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && isOctal(s, i + 1)) {
        out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }
}
