package dev.imprint.engine.discovery;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads whole disks and their identity from a sysfs tree (and the udev database beside it when
 * present). Both roots are parameters, so tests point it at recorded trees of real machines.
 *
 * <p>Where the drive and its USB bridge are told apart: the SCSI device's {@code vendor}/{@code
 * model} (what the bridge translates from the drive) and its {@code vpd_pg80} (the drive's unit
 * serial) describe the drive; the USB device's {@code serial} is the bridge's, which cheap bridges
 * share across units.
 */
public final class Sysfs {
  private static final Pattern USB_PORT = Pattern.compile("\\d+-\\d+(\\.\\d+)*");
  private static final Pattern PCI_ADDRESS =
      Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
  private static final Pattern SCSI_ADDRESS = Pattern.compile("\\d+:\\d+:\\d+:\\d+");

  private final Path sysRoot;
  private final Path udevData;
  private final Path devRoot;

  /**
   * @param sysRoot the sysfs mount (/sys)
   * @param udevData the udev database (/run/udev/data); may be absent
   * @param devRoot where device nodes live (/dev)
   */
  public Sysfs(Path sysRoot, Path udevData, Path devRoot) {
    this.sysRoot = sysRoot;
    this.udevData = udevData;
    this.devRoot = devRoot;
  }

  /** The running system's. */
  public static Sysfs system() {
    return new Sysfs(Path.of("/sys"), Path.of("/run/udev/data"), Path.of("/dev"));
  }

  /** Every whole disk the kernel lists now, by kernel name, with or without a medium. */
  public List<Drive> scan() {
    List<Drive> drives = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(sysRoot.resolve("block"))) {
      for (Path p : dir) {
        drive(p.getFileName().toString()).ifPresent(drives::add);
      }
    } catch (IOException e) {
      return drives;
    }
    drives.sort(Comparator.comparing(Drive::name));
    return drives;
  }

  /** The whole disk named {@code name}, or empty if there is none (gone, or a partition). */
  public Optional<Drive> drive(String name) {
    try {
      Path dir = sysRoot.resolve("block").resolve(name);
      if (!Files.isDirectory(dir) || Files.exists(dir.resolve("partition"))) {
        return Optional.empty();
      }
      return Optional.of(identify(name, dir.toRealPath()));
    } catch (IOException | NumberFormatException e) {
      // Gone between listing and reading: a device unplugged mid-scan.
      return Optional.empty();
    }
  }

  private Drive identify(String name, Path dir) throws IOException {
    String majorMinor = read(dir.resolve("dev"));
    long size = Long.parseLong(read(dir.resolve("size"))) * 512; // always 512-byte units
    boolean removable = "1".equals(readOr(dir.resolve("removable"), "0"));
    boolean readOnly = "1".equals(readOr(dir.resolve("ro"), "0"));
    String backing = readOr(dir.resolve("loop/backing_file"), "");
    Map<String, String> udev = udev(majorMinor);

    List<String> chain = chain(dir);
    String pci = "";
    String usbPort = "";
    Path usbDir = null;
    String scsi = "";
    String ata = "";
    boolean virtio = false;
    Path walk = sysRoot.resolve("devices");
    for (String c : chain) {
      walk = walk.resolve(c);
      if (PCI_ADDRESS.matcher(c).matches()) {
        pci = c;
      } else if (USB_PORT.matcher(c).matches() && Files.exists(walk.resolve("idVendor"))) {
        usbPort = c;
        usbDir = walk;
      } else if (SCSI_ADDRESS.matcher(c).matches()) {
        scsi = c;
      } else if (c.matches("ata\\d+")) {
        ata = c;
      } else if (c.startsWith("virtio")) {
        virtio = true;
      }
    }
    Path device = dir.resolve("device");
    String transport;
    if (name.startsWith("loop")) {
      transport = "loop";
    } else if (chain.isEmpty() || chain.get(0).equals("virtual")) {
      transport = "virtual";
    } else if (virtio) {
      transport = "virtio";
    } else if (usbDir != null) {
      transport = "usb";
    } else if (name.startsWith("nvme")) {
      transport = "nvme";
    } else if (name.startsWith("mmcblk")) {
      transport = "mmc";
    } else if (!ata.isEmpty() || readOr(device.resolve("vendor"), "").equals("ATA")) {
      transport = "ata";
    } else {
      transport = scsi.isEmpty() ? "unknown" : "scsi";
    }

    String slot;
    String prefix = pci.isEmpty() ? "" : "pci-" + pci + "-";
    if (transport.equals("usb")) {
      String lun = scsi.isEmpty() ? "0" : scsi.substring(scsi.lastIndexOf(':') + 1);
      slot = prefix + "usb-" + usbPort + (lun.equals("0") ? "" : "-lun-" + lun);
    } else if (transport.equals("ata") && !ata.isEmpty()) {
      slot = prefix + ata;
    } else if (transport.equals("ata") || transport.equals("scsi")) {
      slot = prefix + "scsi-" + scsi;
    } else if (transport.equals("nvme") || transport.equals("mmc")) {
      slot = prefix + name;
    } else {
      slot = name; // loop, virtio, virtual: no port to speak of
    }

    String vendor = first(readOr(device.resolve("vendor"), ""), udev.get("ID_VENDOR"));
    String model =
        first(
            readOr(device.resolve("model"), ""),
            readOr(device.resolve("name"), ""), // mmc
            udev.get("ID_MODEL"));
    String bridgeSerial =
        usbDir == null ? "" : first(readOr(usbDir.resolve("serial"), ""), udevBridge(udev));
    String driveSerial =
        first(
            vpdSerial(device.resolve("vpd_pg80")),
            udev.get("ID_SCSI_SERIAL"),
            transport.equals("ata") ? udev.get("ID_SERIAL_SHORT") : null,
            readOr(device.resolve("serial"), "")); // nvme, mmc
    String serial = driveSerial.isEmpty() ? bridgeSerial : driveSerial;
    String source = !driveSerial.isEmpty() ? "drive" : bridgeSerial.isEmpty() ? "" : "bridge";
    return new Drive(
        name,
        devRoot.resolve(name),
        majorMinor,
        slot,
        transport,
        vendor,
        model,
        serial,
        source,
        bridgeSerial,
        size,
        removable,
        readOnly,
        backing,
        name.startsWith("sr") || readOr(device.resolve("type"), "").equals("5"));
  }

  /** The path below /sys/devices, one element per device on the way to the disk. */
  private List<String> chain(Path realDir) {
    Path devices;
    try {
      devices = sysRoot.resolve("devices").toRealPath();
    } catch (IOException e) {
      return List.of();
    }
    if (!realDir.startsWith(devices)) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (Path p : devices.relativize(realDir)) {
      out.add(p.toString());
    }
    return out;
  }

  private static String udevBridge(Map<String, String> udev) {
    return "usb".equals(udev.get("ID_BUS")) ? udev.get("ID_SERIAL_SHORT") : null;
  }

  /** {@code E:KEY=VALUE} lines of /run/udev/data/bMAJOR:MINOR; empty without udev. */
  private Map<String, String> udev(String majorMinor) {
    Map<String, String> env = new HashMap<>();
    Path f = udevData.resolve("b" + majorMinor);
    try {
      for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
        if (line.startsWith("E:")) {
          int eq = line.indexOf('=');
          if (eq > 2) {
            env.put(line.substring(2, eq), line.substring(eq + 1).trim());
          }
        }
      }
    } catch (IOException e) {
      // no udev here
    }
    return env;
  }

  /**
   * The unit serial number VPD page (0x80) the kernel caches for SCSI devices: a 4-byte header
   * (peripheral, page code 0x80, length big-endian) and the serial in ASCII.
   */
  static String vpdSerial(Path file) {
    try {
      byte[] b = Files.readAllBytes(file);
      if (b.length < 4 || (b[1] & 0xff) != 0x80) {
        return "";
      }
      int len = Math.min(((b[2] & 0xff) << 8) | (b[3] & 0xff), b.length - 4);
      return new String(b, 4, len, StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      return "";
    }
  }

  private static String first(String... candidates) {
    for (String c : candidates) {
      if (c != null && !c.isBlank()) {
        return c.trim().replaceAll("\\s+", " ");
      }
    }
    return "";
  }

  private static String read(Path file) throws IOException {
    return new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
  }

  private static String readOr(Path file, String fallback) {
    try {
      return read(file);
    } catch (IOException e) {
      return fallback;
    }
  }
}
