package dev.imprint.engine.filesystem;

import dev.imprint.engine.filesystem.FilesystemReader.Volume;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which bytes of a volume matter: asks each filesystem reader in turn, and says in one line how the
 * answer was found or why there is none (then the caller copies every non-zero block).
 */
public final class Filesystems {
  private static final String FALLBACK = "copying every non-zero block";
  private static final byte[] LUKS = {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe};
  private static final byte[] SWAP = "SWAPSPACE2".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SWAP_OLD = "SWAP-SPACE".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HIBERNATION = "S1SUSPEND".getBytes(StandardCharsets.US_ASCII);
  private static final int[] SWAP_PAGE_SIZES = {4096, 8192, 16384, 65536};

  /**
   * The readers. Each probe must be specific enough not to match another filesystem's live
   * structures (FAT's, for instance, refuses NTFS and exFAT boot sectors); then more than one match
   * means one signature is left over from an earlier filesystem.
   */
  private static final List<FilesystemReader> READERS =
      List.of(new Ext4(), new Xfs(), new Ntfs(), new Fat(), new Btrfs());

  /**
   * What analysis found.
   *
   * @param filesystem the filesystem's name ("ext4", "vfat", "ntfs", "xfs", "btrfs"), or "" if
   *     unknown
   * @param map the used ranges, absent when the filesystem is unknown or failed its checks
   * @param note how the map was read, or why there is none
   */
  public record Analysis(String filesystem, Optional<AllocationMap> map, String note) {}

  private Filesystems() {}

  /**
   * Analyses the volume [offset, offset + length) of {@code disk}. A damaged or unsupported
   * filesystem gives an analysis without a map, never an exception; only I/O errors propagate.
   */
  public static Analysis analyze(RandomAccessDisk disk, long offset, long length)
      throws IOException {
    Volume volume = new Volume(disk, offset, length);
    List<FilesystemReader> found = new ArrayList<>();
    for (FilesystemReader reader : READERS) {
      if (reader.probe(volume)) {
        found.add(reader);
      }
    }
    // Signatures live at different offsets (ext4 at 1 KiB, btrfs at 64 KiB, the others in the
    // first sector), and a new filesystem does not always overwrite the old one's: btrfs-convert
    // keeps the ext4 superblock, a LUKS header leaves 1 KiB alone. Reading the stale one would
    // skip blocks the live one uses, so two answers mean neither is trusted.
    String other = otherSignature(volume);
    if (other != null) {
      String also = found.isEmpty() ? "" : " (with a left-over " + names(found) + " signature)";
      return keepAll("", other + also);
    }
    if (found.size() > 1) {
      return keepAll(
          "",
          names(found)
              + (found.size() == 2 ? " signatures both present" : " signatures all present")
              + ", all but one left over from earlier filesystems");
    }
    if (found.isEmpty()) {
      return keepAll("", "no filesystem recognised");
    }
    FilesystemReader reader = found.get(0);
    AllocationMap map;
    try {
      map = reader.allocation(volume);
    } catch (FilesystemException e) {
      return fallback(reader.name(), e.getMessage());
    } catch (IndexOutOfBoundsException
        | BufferUnderflowException
        | IllegalArgumentException
        | ArithmeticException e) {
      // A structure that slipped past the checks: still damage, not a reason to stop.
      return fallback(reader.name(), "unreadable structure (" + e + ")");
    }
    // Asked last, so damage is reported in the reader's own words.
    String doubt = secondOpinion(disk, offset, length, reader.name());
    if (doubt != null) {
      return keepAll("", map.filesystem() + " signature, but " + doubt);
    }
    return new Analysis(map.filesystem(), Optional.of(map), map.how());
  }

  /**
   * Why libblkid disagrees that this volume holds the one filesystem a reader recognised, or null
   * when it agrees or cannot be asked (no libblkid, or a disk that is not a local file or device).
   */
  private static String secondOpinion(
      RandomAccessDisk disk, long offset, long length, String name) {
    Optional<Path> path = disk.localPath();
    if (path.isEmpty()) {
      return null;
    }
    Blkid.Result r = Blkid.probe(path.get(), offset, length);
    return switch (r.outcome()) {
      case AMBIVALENT -> "libblkid finds another filesystem's signature too (one is left over)";
      case NONE -> "libblkid finds no filesystem there";
      case ONE -> Blkid.sameFamily(r.type(), name) ? null : "libblkid finds " + r.type() + " there";
      case UNAVAILABLE -> null;
    };
  }

  private static String names(List<FilesystemReader> readers) {
    List<String> n = new ArrayList<>();
    readers.forEach(r -> n.add(r.name()));
    return String.join(" and ", n);
  }

  /** No map: every non-zero block is kept, and the note says why. */
  private static Analysis keepAll(String filesystem, String why) {
    return new Analysis(filesystem, Optional.empty(), why + ": " + FALLBACK);
  }

  private static Analysis fallback(String name, String reason) {
    return keepAll(name, name + " " + reason);
  }

  /** Names volumes no reader maps but a person would want named: LUKS, swap. */
  private static String otherSignature(Volume volume) throws IOException {
    if (VolumeReads.matches(VolumeReads.head(volume, 0, LUKS.length), 0, LUKS)) {
      return "LUKS encrypted volume";
    }
    for (int page : SWAP_PAGE_SIZES) {
      ByteBuffer tail = VolumeReads.head(volume, page - 10, 10);
      if (VolumeReads.matches(tail, 0, SWAP) || VolumeReads.matches(tail, 0, SWAP_OLD)) {
        return "Linux swap (" + page + "-byte pages)";
      }
      if (VolumeReads.matches(tail, 0, HIBERNATION)) {
        return "Linux swap holding a hibernation image";
      }
    }
    return null;
  }
}
