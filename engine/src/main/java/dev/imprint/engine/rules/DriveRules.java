package dev.imprint.engine.rules;

import dev.imprint.engine.device.DeviceException;
import dev.imprint.engine.device.DeviceInfo;
import dev.imprint.engine.device.Mount;
import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.discovery.Drive;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which drives a station images. The safety rules always hold: never an optical drive, never the
 * system disk or active swap, never a disk with a mounted partition, never read-only, never smaller
 * than the image needs or larger than the size limit. Then {@code --exclude} removes; then the
 * accept rule: by default removable or USB-attached disks, or with {@code --match} any drive
 * meeting one of its condition lists. Every refusal names its reason.
 *
 * @param needed bytes the image needs on a target
 * @param maxSize the largest drive that may be imaged (a user's backup drive is not a target)
 * @param matches each a list of conditions that must all hold; empty: the default accept rule
 * @param excludes each a list of conditions that, all holding, exclude a drive
 * @param system the questions about the running system (mounts, root, swap)
 */
public record DriveRules(
    long needed,
    long maxSize,
    List<List<Condition>> matches,
    List<List<Condition>> excludes,
    SystemCheck system) {

  public static final long DEFAULT_MAX_SIZE = 2L << 40;

  /** The safety questions that need the running system; a test may answer them itself. */
  public interface SystemCheck {
    /** Why the drive must not be touched, or empty. */
    Optional<String> refusal(Drive drive);

    /** Asks the running system through {@link SystemDisks}. */
    static SystemCheck of(SystemDisks disks) {
      return drive -> {
        try {
          DeviceInfo info = DeviceInfo.probe(drive.node());
          if (disks.holdsRoot(info)) {
            return Optional.of("holds the running system (/)");
          }
          if (disks.holdsActiveSwap(info)) {
            return Optional.of("holds active swap");
          }
          List<String> mounted = new ArrayList<>();
          for (Mount m : disks.mountsOn(info)) {
            mounted.add(m.device() + " on " + m.mountPoint());
          }
          for (Mount m : disks.mountsThroughOtherLoops(info)) {
            mounted.add(m.device() + " on " + m.mountPoint());
          }
          if (!mounted.isEmpty()) {
            return Optional.of("mounted: " + String.join(", ", mounted));
          }
          if (!disks.holders(info).isEmpty()) {
            return Optional.of("in use by device mapper, LVM or RAID");
          }
          return Optional.empty();
        } catch (DeviceException e) {
          return Optional.of("cannot be inspected: " + e.getMessage());
        }
      };
    }
  }

  public DriveRules {
    matches = List.copyOf(matches);
    excludes = List.copyOf(excludes);
  }

  /** The verdict on {@code drive}, found in the slot labelled {@code label}. */
  public Verdict judge(Drive drive, String label) {
    if (drive.optical()) {
      return Verdict.ignore("an optical drive, not a disk");
    }
    if (drive.readOnly()) {
      return Verdict.ignore("read-only (write-protected?)");
    }
    if (drive.size() < needed) {
      return Verdict.ignore(
          "too small: " + human(drive.size()) + ", the image needs " + human(needed));
    }
    if (drive.size() > maxSize) {
      return Verdict.ignore(
          "too large: "
              + human(drive.size())
              + " is over --max-size "
              + human(maxSize)
              + " (a backup drive?)");
    }
    for (List<Condition> ex : excludes) {
      if (ex.stream().allMatch(c -> c.test(drive, label))) {
        return Verdict.ignore("excluded by --exclude " + text(ex));
      }
    }
    String accepted;
    if (matches.isEmpty()) {
      if (!drive.removable() && !drive.usb()) {
        return Verdict.ignore(
            "neither removable nor USB (the default rule); --match can accept it");
      }
      accepted = drive.usb() ? "USB drive" : "removable drive";
    } else {
      Optional<List<Condition>> hit =
          matches.stream().filter(m -> m.stream().allMatch(c -> c.test(drive, label))).findFirst();
      if (hit.isEmpty()) {
        return Verdict.ignore("matches no --match");
      }
      accepted = "matches --match " + text(hit.get());
    }
    // Last, as it reads /proc and /sys: only for drives the rules would take.
    Optional<String> unsafe = system.refusal(drive);
    return unsafe.map(Verdict::ignore).orElseGet(() -> Verdict.accept(accepted));
  }

  private static String text(List<Condition> cs) {
    return String.join(",", cs.stream().map(Condition::text).toList());
  }

  /** Decimal units, as drives are sold. */
  public static String human(long bytes) {
    String[] units = {"B", "KB", "MB", "GB", "TB", "PB"};
    double v = bytes;
    int u = 0;
    while (v >= 1000 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return u == 0 ? bytes + " B" : String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
