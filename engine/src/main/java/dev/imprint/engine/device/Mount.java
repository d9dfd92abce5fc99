package dev.imprint.engine.device;

import java.nio.file.Path;

/**
 * One line of /proc/self/mountinfo that matters for a target.
 *
 * @param device the mount source as the kernel shows it, e.g. /dev/loop3
 * @param majorMinor the device number the kernel shows for the mount ("0:NN" for btrfs, overlay)
 * @param mountPoint where it is mounted
 * @param fsType ext4, vfat, ...
 * @param readOnly mounted read-only
 * @param options the mount's own options (ro, nosuid, noatime, ...), to mount it back alike
 * @param superOptions the filesystem's options (a btrfs subvol=, errors=, ...), likewise
 */
public record Mount(
    String device,
    String majorMinor,
    Path mountPoint,
    String fsType,
    boolean readOnly,
    String options,
    String superOptions) {}
