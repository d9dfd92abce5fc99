package dev.imprint.engine.discovery;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * The recorded sysfs tree of a real laptop (shared/fixtures/sysfs/laptop-2008.tar.gz: a USB flash
 * drive without a serial at port 5-1, a SATA disk, an optical drive) unpacked into a test's
 * directory, and the cases it lacks derived from it: the USB drive copied to other ports, with
 * bridge and drive serials of one's choosing.
 */
public final class SysfsFixture {
  static final String USB = "devices/pci0000:00/0000:00:1d.7/usb5";

  private final Path sys;

  private SysfsFixture(Path sys) {
    this.sys = sys;
  }

  /** The tarball: beside the repository (shared/ next to a clone), or the workplace's copy. */
  static Path tarball() {
    Path rel = Path.of("shared", "fixtures", "sysfs", "laptop-2008.tar.gz");
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve(rel))) {
        return p.resolve(rel);
      }
    }
    Path fixed = Path.of("/work").resolve(rel);
    return Files.isRegularFile(fixed) ? fixed : null;
  }

  public static SysfsFixture unpack(Path dir) {
    Path tar = tarball();
    Root.assume(tar != null, "the recorded sysfs tree shared/fixtures/sysfs/laptop-2008.tar.gz");
    Cmd.run("tar", "-xzf", tar.toString(), "-C", dir.toString());
    return new SysfsFixture(dir.resolve("sys"));
  }

  public Path sys() {
    return sys;
  }

  public Sysfs sysfs() {
    return new Sysfs(sys, sys.resolveSibling("run/udev/data"), Path.of("/dev"));
  }

  /**
   * Copies the flash drive at port 5-1 to {@code port} (e.g. "5-3", or "5-4/5-4.2" behind a hub at
   * 5-4) as disk {@code name} with device number {@code dev}.
   */
  public Path copyUsbDrive(String port, String name, String dev) throws IOException {
    Path from = sys.resolve(USB).resolve("5-1");
    Path to = sys.resolve(USB).resolve(port);
    if (port.contains("/")) {
      Path hub = to.getParent();
      Files.createDirectories(hub);
      Files.writeString(hub.resolve("idVendor"), "05e3\n"); // a hub: a USB device of its own
    }
    copyTree(from, to);
    Path blockParent = to.resolve("5-1:1.0/host7/target7:0:0/7:0:0:0/block");
    Files.move(blockParent.resolve("sdb"), blockParent.resolve(name));
    Files.writeString(blockParent.resolve(name).resolve("dev"), dev + "\n");
    Path link = sys.resolve("block").resolve(name);
    Files.createSymbolicLink(link, link.getParent().relativize(blockParent.resolve(name)));
    return to;
  }

  /** The serial the USB bridge at {@code port} reports (iSerial). */
  public void bridgeSerial(String port, String serial) throws IOException {
    Files.writeString(sys.resolve(USB).resolve(port).resolve("serial"), serial + "\n");
  }

  /** The drive's own serial behind the bridge: the SCSI unit serial VPD page the kernel caches. */
  public void driveSerial(String port, String serial) throws IOException {
    byte[] s = serial.getBytes(StandardCharsets.US_ASCII);
    byte[] page = new byte[4 + s.length];
    page[1] = (byte) 0x80;
    page[3] = (byte) s.length;
    System.arraycopy(s, 0, page, 4, s.length);
    Files.write(
        sys.resolve(USB).resolve(port).resolve("5-1:1.0/host7/target7:0:0/7:0:0:0/vpd_pg80"), page);
  }

  /** A udev database entry for device {@code dev}, as udev writes /run/udev/data/bMAJ:MIN. */
  public void udev(String dev, String... keyValues) throws IOException {
    Path dir = sys.resolveSibling("run/udev/data");
    Files.createDirectories(dir);
    StringBuilder b = new StringBuilder();
    for (String kv : keyValues) {
      b.append("E:").append(kv).append('\n');
    }
    Files.writeString(dir.resolve("b" + dev), b.toString());
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path dst = to.resolve(from.relativize(p).toString());
        if (Files.isSymbolicLink(p)) {
          Files.createSymbolicLink(dst, Files.readSymbolicLink(p));
        } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectories(dst);
        } else {
          Files.copy(p, dst, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }
}
