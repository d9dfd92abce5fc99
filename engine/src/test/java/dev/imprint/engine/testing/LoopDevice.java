package dev.imprint.engine.testing;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.imprint.engine.device.LibC;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loop device over a file, for tests: a real block device the kernel can mount, partition-like
 * windows via offset and size limit (there is no partition scanning here). Detaches on close, and
 * at JVM exit any still attached, so a failing test does not leak devices.
 */
public final class LoopDevice implements AutoCloseable {
  private static final long LOOP_CTL_GET_FREE = 0x4C82L;
  private static final Set<Path> ATTACHED = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (Path p : ATTACHED) {
                    Cmd.result("losetup", "-d", p.toString());
                  }
                },
                "loop-device-cleanup"));
  }

  private final Path path;
  private final Path backingFile;

  private LoopDevice(Path path, Path backingFile) {
    this.path = path;
    this.backingFile = backingFile;
  }

  /** Attaches the whole of {@code file}. */
  public static LoopDevice attach(Path file) {
    return attach(file, 0, 0);
  }

  /**
   * Attaches {@code sizeLimit} bytes of {@code file} from {@code offset} (0 = to the end): what a
   * partition would be, without partition scanning.
   */
  public static LoopDevice attach(Path file, long offset, long sizeLimit) {
    List<String> argv = new ArrayList<>(List.of("losetup", "--find", "--show"));
    if (offset > 0) {
      argv.addAll(List.of("--offset", Long.toString(offset)));
    }
    if (sizeLimit > 0) {
      argv.addAll(List.of("--sizelimit", Long.toString(sizeLimit)));
    }
    argv.add(file.toAbsolutePath().toString());
    Cmd.Result last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      last = Cmd.result(argv.toArray(String[]::new));
      if (last.exitCode() == 0) {
        Path dev = Path.of(last.stdout().trim());
        ATTACHED.add(dev);
        return new LoopDevice(dev, file);
      }
      // Without udev, a loop device the kernel creates on demand (loop8, ...) has no /dev node.
      ensureFreeNode();
    }
    throw new IllegalStateException(
        String.join(" ", argv) + " exited " + last.exitCode() + ": " + last.stderr().trim());
  }

  public Path path() {
    return path;
  }

  public Path backingFile() {
    return backingFile;
  }

  @Override
  public void close() {
    detach(path);
    ATTACHED.remove(path);
  }

  @Override
  public String toString() {
    return path + " -> " + backingFile;
  }

  /** Detaches every loop device whose backing file lies under {@code dir}; for @AfterAll. */
  public static void detachAllUnder(Path dir) {
    Path root = dir.toAbsolutePath().normalize();
    String listing =
        Cmd.run("losetup", "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE");
    for (String line : listing.split("\n")) {
      int space = line.indexOf(' ');
      if (space < 0) {
        continue;
      }
      String back =
          line.substring(space + 1).replace("\\x20", " ").replaceAll(" \\(deleted\\)$", "");
      if (Path.of(back).toAbsolutePath().normalize().startsWith(root)) {
        Path dev = Path.of(line.substring(0, space));
        detach(dev);
        ATTACHED.remove(dev);
      }
    }
  }

  private static void detach(Path dev) {
    Cmd.Result r = null;
    // Right after an unmount the device can stay busy for a moment.
    for (int attempt = 0; attempt < 20; attempt++) {
      r = Cmd.result("losetup", "-d", dev.toString());
      if (r.exitCode() == 0 || r.stderr().contains("No such device")) {
        return;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new IllegalStateException("losetup -d " + dev + " failed: " + r.stderr().trim());
  }

  private static void ensureFreeNode() {
    int control = -1;
    try {
      control = LibC.INSTANCE.open("/dev/loop-control", LibC.O_RDWR | LibC.O_CLOEXEC);
      int index = LibC.INSTANCE.ioctl(control, new NativeLong(LOOP_CTL_GET_FREE), (Pointer) null);
      Path node = Path.of("/dev/loop" + index);
      if (!Files.exists(node)) {
        Cmd.result("mknod", node.toString(), "b", "7", Integer.toString(index));
      }
    } catch (LastErrorException e) {
      // nothing more to try; the next losetup reports the real problem
    } finally {
      if (control >= 0) {
        LibC.INSTANCE.close(control);
      }
    }
  }
}
