package dev.imprint.engine.discovery;

import java.nio.file.Path;

/**
 * A whole disk as the kernel describes it (sysfs, and the udev database when present), read without
 * opening it: who it is, where it is plugged in, and how large it is.
 *
 * @param name the kernel name: sdb, loop3, nvme0n1
 * @param node the device node, /dev/NAME
 * @param majorMinor "major:minor"
 * @param slot where it is plugged in: the physical port path (stable across replugging, unlike the
 *     kernel name), or the kernel name for a device without one (loop, virtio)
 * @param transport how it is attached: usb, ata, nvme, mmc, scsi, virtio, loop, virtual
 * @param vendor the drive's vendor ("" when the kernel does not say)
 * @param model the drive's model ("" when the kernel does not say)
 * @param serial the drive's own serial when known, else its USB bridge's, else ""
 * @param serialSource "drive", "bridge" or "" (none): a bridge serial may be shared by many bridges
 * @param bridgeSerial the USB bridge's serial ("" when none or not USB)
 * @param size bytes; 0 means no medium (an empty card reader, a detached loop device)
 * @param removable the kernel marks it removable
 * @param readOnly the kernel marks it read-only
 * @param backingFile a loop device's backing file, else ""
 * @param optical a CD/DVD/BD drive (SCSI type 5): never a target
 */
public record Drive(
    String name,
    Path node,
    String majorMinor,
    String slot,
    String transport,
    String vendor,
    String model,
    String serial,
    String serialSource,
    String bridgeSerial,
    long size,
    boolean removable,
    boolean readOnly,
    String backingFile,
    boolean optical) {

  /** Whether a medium is present: a disk of size 0 is a reader without a card. */
  public boolean hasMedium() {
    return size > 0;
  }

  /** Whether it hangs off a USB port. */
  public boolean usb() {
    return transport.equals("usb");
  }

  /** Vendor and model as one line, or the backing file of a loop device. */
  public String description() {
    if (!backingFile.isEmpty()) {
      return "loop: " + backingFile;
    }
    String text = (vendor + " " + model).trim().replaceAll("\\s+", " ");
    return text.isEmpty() ? "unknown model" : text;
  }

  /** The same drive in the same place: what a rescan compares (a new medium is a new drive). */
  public boolean sameAs(Drive other) {
    return other != null
        && name.equals(other.name)
        && slot.equals(other.slot)
        && serial.equals(other.serial)
        && size == other.size
        && backingFile.equals(other.backingFile);
  }
}
