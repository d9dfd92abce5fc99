package dev.imprint.engine.partition;

/**
 * One slot of a partition table, as the OS names it.
 *
 * <p>GPT entries keep the 128-bit type and unique GUIDs as canonical uppercase text (the form
 * sgdisk and blkid print), the UTF-16LE name and the 64-bit attribute word: restores must put them
 * back bit for bit, since bootloaders and systemd-gpt-auto key on them. MBR entries keep the type
 * byte as two uppercase hex digits and the status byte (0x80 = bootable) as {@code attributes};
 * they have no label or GUID ("").
 *
 * @param number 1-based, as the kernel numbers it: GPT slot index + 1; MBR primaries 1–4, logical
 *     partitions from 5 in EBR-chain order
 * @param offset first byte on the disk
 * @param length bytes
 * @param logical an MBR logical partition (inside an extended one)
 */
public record PartitionEntry(
    int number,
    long offset,
    long length,
    String type,
    String label,
    String uniqueGuid,
    long attributes,
    boolean logical) {

  /**
   * An entry as an image header records it: number, extent, type and label, with no unique GUID, no
   * attributes, and not marked logical (the header does not say).
   */
  public static PartitionEntry recorded(
      int number, long offset, long length, String type, String label) {
    return new PartitionEntry(number, offset, length, type, label, "", 0, false);
  }

  public long end() {
    return offset + length;
  }

  /**
   * An MBR extended partition (0x05, 0x0F, 0x85): a container for EBRs and logical partitions,
   * never a filesystem. It claims no bytes of its own.
   */
  public boolean isContainer() {
    return !logical && MbrReader.isExtendedType(type);
  }
}
