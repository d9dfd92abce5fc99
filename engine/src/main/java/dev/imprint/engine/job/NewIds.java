package dev.imprint.engine.job;

import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.filesystem.FilesystemIds;
import dev.imprint.engine.filesystem.Filesystems;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.partition.GptRelocation;
import dev.imprint.engine.partition.PartitionEntry;
import dev.imprint.engine.partition.PartitionException;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.partition.PartitionTable;
import dev.imprint.engine.partition.PartitionTables;
import dev.imprint.engine.partition.TableIds;
import dev.imprint.engine.source.FileDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code --new-ids}: after a target was restored and verified, gives it fresh GPT disk and
 * partition GUIDs (or a fresh MBR disk signature) and fresh filesystem UUIDs/serials, so clones of
 * one image can meet on one host. Then checks what the change wrote: exact edits (the tables, FAT
 * and NTFS serials) are read back past the page cache and compared byte for byte; a filesystem a
 * tool changed must hold the new UUID in its superblock and pass its own read-only check.
 */
public final class NewIds {
  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * One partition's (or a whole volume's, number 0) new ids.
   *
   * @param partitionGuid the new GPT unique GUID; "" for MBR partitions and volumes
   * @param filesystem as the filesystem readers name it ("ext4", "vfat", ...), "" when unknown
   * @param uuid the new filesystem UUID or serial as blkid prints it; "" when it was not changed
   */
  public record Volume(int number, String partitionGuid, String filesystem, String uuid) {}

  /**
   * A target's new ids.
   *
   * @param diskId the new GPT disk GUID or MBR disk signature; "" without a partition table
   * @param notes what was left as it was, and why (an unknown filesystem, say)
   */
  public record Result(String diskId, List<Volume> volumes, List<String> notes) {}

  private NewIds() {}

  /**
   * Programs {@code --new-ids} will need for the filesystems an Imprint image records, missing from
   * this host; checked before anything is written. Empty when the image records none.
   */
  public static List<String> missingTools(ImageHeader header) {
    Set<String> missing = new LinkedHashSet<>();
    if (header == null) {
      return List.of();
    }
    for (var p : header.partitions()) {
      for (String tool : FilesystemIds.tools(p.filesystem())) {
        if (!onPath(tool)) {
          missing.add(tool);
        }
      }
    }
    return List.copyOf(missing);
  }

  /** Whether an Imprint image records a filesystem whose id a tool on a loop device changes. */
  static boolean needsLoopDevices(ImageHeader header) {
    return header != null
        && header.partitions().stream()
            .anyMatch(p -> !FilesystemIds.tools(p.filesystem()).isEmpty());
  }

  /** Root, which loop devices need (the effective user owns /proc/self). */
  static boolean privileged() {
    try {
      return ((Integer) java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static boolean onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin").split(":")) {
      if (java.nio.file.Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return java.nio.file.Files.isExecutable(Path.of("/usr/sbin", program))
        || java.nio.file.Files.isExecutable(Path.of("/sbin", program));
  }

  /** Gives {@code target} (closed by everyone else) new ids and checks them. */
  public static Result apply(Path target) throws IOException {
    TableIds.Renewed table;
    List<Volume> volumes = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    List<GptRelocation.Write> writes = new ArrayList<>();
    List<FilesystemIds.Renewed> byTool = new ArrayList<>();
    List<long[]> byToolWhere = new ArrayList<>();
    try (FileDisk disk = FileDisk.open(target)) {
      try {
        table = TableIds.renew(disk, RANDOM);
      } catch (PartitionException e) {
        throw new IOException("cannot give " + target + " new ids: " + e.getMessage());
      }
      writes.addAll(table.writes());
      List<long[]> extents = new ArrayList<>();
      List<Integer> numbers = new ArrayList<>();
      if (table.scheme() == PartitionScheme.NONE) {
        extents.add(new long[] {0, disk.size()});
        numbers.add(0);
      } else {
        PartitionTable t = PartitionTables.read(disk);
        for (PartitionEntry e : t.entries()) {
          if (!e.isContainer() && e.length() > 0) {
            extents.add(new long[] {e.offset(), e.length()});
            numbers.add(e.number());
          }
        }
      }
      for (int i = 0; i < extents.size(); i++) {
        long offset = extents.get(i)[0];
        long length = extents.get(i)[1];
        int number = numbers.get(i);
        String guid = table.partitionGuids().getOrDefault(number, "");
        String fs = Filesystems.analyze(disk, offset, length).filesystem();
        if (!FilesystemIds.renewable(fs)) {
          notes.add(
              (number == 0 ? "the volume" : "partition " + number)
                  + (fs.isEmpty() ? " holds no filesystem imprint recognises" : " holds " + fs)
                  + ": its id is left as it was");
          volumes.add(new Volume(number, guid, fs, ""));
          continue;
        }
        FilesystemIds.Renewed r = FilesystemIds.renew(target, disk, offset, length, fs, RANDOM);
        for (FilesystemIds.Edit e : r.edits()) {
          writes.add(new GptRelocation.Write(e.offset(), e.bytes()));
        }
        if (r.edits().isEmpty()) {
          byTool.add(r);
          byToolWhere.add(new long[] {offset, length});
        }
        volumes.add(new Volume(number, guid, fs, r.uuid()));
      }
    }
    try (TargetDevice d = TargetDevice.open(target, OpenMode.RESTORE)) {
      for (GptRelocation.Write w : writes) {
        d.write(ByteBuffer.wrap(w.bytes()), w.offset());
      }
      d.flush();
      d.dropCache();
      for (GptRelocation.Write w : writes) {
        ByteBuffer back = ByteBuffer.allocate(w.bytes().length);
        d.read(back, w.offset());
        if (!Arrays.equals(back.array(), w.bytes())) {
          throw new IOException(
              "new ids on "
                  + target
                  + ": reading back byte "
                  + w.offset()
                  + " differs from what"
                  + " was written");
        }
      }
    }
    try (TargetDevice d = TargetDevice.open(target, OpenMode.SHARED)) {
      d.dropCache();
      for (int i = 0; i < byTool.size(); i++) {
        String why =
            FilesystemIds.check(d, byToolWhere.get(i)[0], byToolWhere.get(i)[1], byTool.get(i));
        if (why != null) {
          throw new IOException("new ids on " + target + ": " + why);
        }
      }
    }
    return new Result(table.diskId(), volumes, notes);
  }
}
