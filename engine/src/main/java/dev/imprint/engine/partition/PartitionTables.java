package dev.imprint.engine.partition;

import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a disk's partition table. Detection follows the kernel: sector 0 must end in 0x55AA; an
 * entry of type 0xEE there (protective or hybrid MBR) means GPT, anything else MBR. A GPT header at
 * LBA 1 without a protective MBR is ignored, as Linux ignores it, since it is most often a stale
 * leftover of an earlier layout.
 */
public final class PartitionTables {
  static final int MBR_SIZE = 512;
  private static final int SIGNATURE_OFFSET = 510;

  private PartitionTables() {}

  /**
   * The table on {@code disk}. Damage is reported in {@link PartitionTable#problems()}, not thrown;
   * a table too damaged to use comes back as scheme NONE with problems saying why.
   *
   * @throws IOException only when the disk cannot be read
   */
  public static PartitionTable read(RandomAccessDisk disk) throws IOException {
    byte[] mbr = read(disk, 0, MBR_SIZE);
    if (!hasBootSignature(mbr)) {
      if (GptHeader.hasSignature(read(disk, disk.sectorSize(), GptHeader.SIGNATURE.length))) {
        return PartitionTable.none(
            disk.sectorSize(),
            disk.size(),
            List.of(
                "GPT header at LBA 1 but no MBR signature (0x55AA) in sector 0; the GPT is"
                    + " ignored, as the kernel ignores it without a protective MBR"));
      }
      return PartitionTable.none(disk.sectorSize(), disk.size(), List.of());
    }
    if (MbrReader.hasProtectiveEntry(mbr)) {
      return GptReader.read(disk);
    }
    return MbrReader.read(disk, mbr);
  }

  static boolean hasBootSignature(byte[] sector) {
    return sector.length >= MBR_SIZE
        && sector[SIGNATURE_OFFSET] == 0x55
        && sector[SIGNATURE_OFFSET + 1] == (byte) 0xAA;
  }

  /** Up to {@code length} bytes at {@code position}: fewer only where the disk ends. */
  static byte[] read(RandomAccessDisk disk, long position, int length) throws IOException {
    if (position < 0 || position >= disk.size()) {
      return new byte[0];
    }
    ByteBuffer dst = ByteBuffer.allocate((int) Math.min(length, disk.size() - position));
    int n = disk.read(dst, position);
    byte[] bytes = dst.array();
    return n == bytes.length ? bytes : Arrays.copyOf(bytes, Math.max(n, 0));
  }

  /**
   * One problem per overlapping pair, and per partition that runs past the disk. An extended
   * container and the logical partitions inside it are not an overlap.
   */
  static List<String> layoutProblems(List<PartitionEntry> entries, long diskSize) {
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      PartitionEntry a = entries.get(i);
      if (a.end() > diskSize) {
        problems.add(
            "partition "
                + a.number()
                + " ends at byte "
                + a.end()
                + ", past the end of the disk ("
                + diskSize
                + " bytes)");
      }
      for (int j = i + 1; j < entries.size(); j++) {
        PartitionEntry b = entries.get(j);
        boolean nested = (a.isContainer() && b.logical()) || (b.isContainer() && a.logical());
        if (!nested
            && a.length() > 0
            && b.length() > 0
            && a.offset() < b.end()
            && b.offset() < a.end()) {
          problems.add("partitions " + a.number() + " and " + b.number() + " overlap");
        }
      }
    }
    return problems;
  }
}
