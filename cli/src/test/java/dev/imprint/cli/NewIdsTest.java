package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restore --new-ids}: one GPT image with FAT, ext4, XFS, btrfs and NTFS partitions restored
 * to two disks at once; every id differs between the two and from the image, blkid and sgdisk read
 * the ids the job reported, every filesystem checks clean, and the two XFS and btrfs copies mount
 * side by side (which the kernel refuses for duplicate UUIDs). Needs root.
 */
class NewIdsTest {
  static final long MIB = 1 << 20;

  /** Partition number, filesystem, size; mkfs.xfs refuses under 300 MiB, btrfs under ~110. */
  record Part(int number, String fs, long size) {}

  static final List<Part> PARTS =
      List.of(
          new Part(1, "vfat", 8 * MIB),
          new Part(2, "ext4", 16 * MIB),
          new Part(3, "xfs", 304 * MIB),
          new Part(4, "btrfs", 128 * MIB),
          new Part(5, "ntfs", 8 * MIB));

  @TempDir Path dir;
  final Cleanup cleanup = new Cleanup();

  @AfterEach
  void clean() {
    cleanup.run(dir);
  }

  /** New ids go only onto verified targets: --noverify with them is refused before any write. */
  @Test
  void withoutVerifyTheRefusalComesBeforeAnyWrite() throws Exception {
    Path raw = TestData.randomFile(dir.resolve("small.raw"), 4 * MIB, 5);
    Path image = dir.resolve("small.imprint");
    CliRun.Result c =
        CliRun.run("create", "--source", raw.toString(), "--output", image.toString());
    assertEquals(0, c.code(), c::toString);
    Path target = dir.resolve("t.img");
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            target.toString(),
            "--erase",
            "--noprompt",
            "--noverify",
            "--new-ids");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("--noverify"), r::toString);
    assertFalse(r.err().contains("Exception"), r::toString);
    assertFalse(Files.exists(target), r::toString);
  }

  private static long offset(Part p) {
    long at = MIB;
    for (Part q : PARTS) {
      if (q == p) {
        return at;
      }
      at += q.size();
    }
    throw new IllegalArgumentException();
  }

  private static final long DISK = offset(PARTS.get(4)) + 8 * MIB + MIB;

  private Path buildDisk() throws IOException {
    Path disk = dir.resolve("disk.img");
    TestData.setLength(disk, DISK);
    List<String> sgdisk = new ArrayList<>(List.of("sgdisk", "-o"));
    for (Part p : PARTS) {
      sgdisk.add("-n" + p.number() + ":" + offset(p) / 512 + ":+" + p.size() / MIB + "M");
    }
    sgdisk.add(disk.toString());
    Cmd.run(sgdisk.toArray(String[]::new));
    for (Part p : PARTS) {
      try (LoopDevice d = LoopDevice.attach(disk, offset(p), p.size())) {
        String dev = d.path().toString();
        switch (p.fs()) {
          case "vfat" -> Cmd.run("mkfs.vfat", "-F", "32", "-S", "512", "-s", "1", dev);
          case "ext4" -> Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", dev);
          case "xfs" -> Cmd.run("mkfs.xfs", "-q", "-f", "-K", dev);
          case "btrfs" -> Cmd.run("mkfs.btrfs", "-q", "-K", "-f", dev);
          default -> Cmd.run("mkntfs", "-F", "-Q", "-q", "-p", Long.toString(offset(p) / 512), dev);
        }
      }
    }
    return disk;
  }

  /** The ids a disk has, as sgdisk and blkid read them: "disk", "guid N", "uuid N". */
  private Map<String, String> ids(Path disk) {
    Map<String, String> ids = new LinkedHashMap<>();
    ids.put(
        "disk",
        field(Cmd.run("sgdisk", "-p", disk.toString()), "Disk identifier \\(GUID\\): (\\S+)"));
    for (Part p : PARTS) {
      String info = Cmd.run("sgdisk", "-i", Integer.toString(p.number()), disk.toString());
      ids.put("guid " + p.number(), field(info, "Partition unique GUID: (\\S+)"));
      try (LoopDevice d = LoopDevice.attach(disk, offset(p), p.size())) {
        ids.put(
            "uuid " + p.number(),
            Cmd.run("blkid", "-p", "-o", "value", "-s", "UUID", d.path().toString()).trim());
      }
    }
    return ids;
  }

  private static String field(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertTrue(m.find(), regex + " in " + text);
    return m.group(1);
  }

  @Test
  void twoClonesGetIdsOfTheirOwnAndCheckClean() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands(
        "sgdisk",
        "blkid",
        "mkfs.vfat",
        "fsck.vfat",
        "mke2fs",
        "e2fsck",
        "tune2fs",
        "mkfs.xfs",
        "xfs_admin",
        "xfs_repair",
        "mkfs.btrfs",
        "btrfstune",
        "btrfs",
        "mkntfs",
        "ntfsfix");
    Path disk = buildDisk();
    Map<String, String> original = ids(disk);
    Path image = dir.resolve("disk.imprint");
    CliRun.Result c =
        CliRun.run("create", "--source", disk.toString(), "--output", image.toString());
    assertEquals(0, c.code(), c::toString);

    List<LoopDevice> targets = new ArrayList<>();
    for (String name : List.of("a.img", "b.img")) {
      Path f = dir.resolve(name);
      TestData.setLength(f, DISK);
      LoopDevice d = LoopDevice.attach(f);
      cleanup.add(d);
      targets.add(d);
    }
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            targets.get(0).path().toString(),
            "--target",
            targets.get(1).path().toString(),
            "--erase",
            "--noprompt",
            "--new-ids",
            "--json");
    assertEquals(0, r.code(), r::toString);

    Map<String, Config> events = new LinkedHashMap<>();
    for (String line : r.out().lines().toList()) {
      Config e = ConfigFactory.parseString(line);
      if (e.getString("event").equals("newIds")) {
        events.put(e.getString("target"), e);
      }
    }
    assertEquals(2, events.size(), r::toString);

    Set<String> seen = new HashSet<>(original.values());
    assertEquals(original.size(), seen.size(), "the image's own ids are distinct: " + original);
    for (LoopDevice t : targets) {
      Path dev = t.path();
      String v = Cmd.run("sgdisk", "-v", dev.toString());
      assertTrue(v.contains("No problems found"), v);
      Map<String, String> now = ids(dev);
      Config e = events.get(dev.toString());
      assertEquals(now.get("disk"), e.getString("diskId"), now::toString);
      for (Config vol : e.getConfigList("volumes")) {
        int n = vol.getInt("number");
        Part p = PARTS.get(n - 1);
        assertEquals(p.fs(), vol.getString("filesystem"));
        assertEquals(now.get("guid " + n), vol.getString("partitionGuid"));
        assertEquals(now.get("uuid " + n), vol.getString("uuid"), "blkid agrees on " + p);
      }
      for (var id : now.entrySet()) {
        assertTrue(seen.add(id.getValue()), id + " repeats an id of the image or the other clone");
      }
      for (Part p : PARTS) {
        try (LoopDevice d = LoopDevice.attach(dev, offset(p), p.size())) {
          String part = d.path().toString();
          Cmd.Result check =
              switch (p.fs()) {
                case "vfat" -> Cmd.result("fsck.vfat", "-n", part);
                case "ext4" -> Cmd.result("e2fsck", "-f", "-n", part);
                case "xfs" -> Cmd.result("xfs_repair", "-n", part);
                case "btrfs" -> Cmd.result("btrfs", "check", "--readonly", part);
                default -> Cmd.result("ntfsfix", "-n", part);
              };
          assertEquals(0, check.exitCode(), () -> p + ": " + check);
        }
      }
    }
    // The kernel refuses a second XFS or btrfs with a UUID already mounted: both copies mount.
    for (Part p : List.of(PARTS.get(1), PARTS.get(2), PARTS.get(3))) {
      List<TempMount> mounts = new ArrayList<>();
      try {
        for (LoopDevice t : targets) {
          LoopDevice d = LoopDevice.attach(t.path(), offset(p), p.size());
          cleanup.add(d);
          mounts.add(TempMount.mount(d.path(), "ro"));
        }
      } finally {
        mounts.forEach(TempMount::close);
      }
    }
  }
}
