package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import dev.imprint.engine.testing.TestData;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Used-blocks imaging end to end, one filesystem at a time: each partition is first filled with
 * random bytes (the "deleted data" a used disk holds), then formatted and populated, so every block
 * a filesystem calls free holds garbage. {@code imprint create} must leave those blocks out of the
 * image, and {@code imprint restore} onto a target full of other random bytes must still give a
 * disk whose filesystems check clean and whose files read back equal: any block wrongly called free
 * shows up as garbage in metadata or file contents. Needs root and loop devices; skips elsewhere.
 */
class FilesystemRestoreTest {
  private static final long MIB = 1L << 20;
  private static final long SECTOR = 512;
  private static final long P1_OFFSET = 1 * MIB;
  private static final long SMALL_FS = 64 * MIB;

  /** mkfs.xfs refuses filesystems under 300 MiB. */
  private static final long XFS_FS = 304 * MIB;

  /** mkfs.btrfs wants about 110 MiB for its default DUP metadata; a little more for the files. */
  private static final long BTRFS_FS = 128 * MIB;

  private static final long P2_SIZE = 8 * MIB;

  @TempDir Path tmp;

  /** Closed in reverse order after each test. */
  private final Cleanup cleanup = new Cleanup();

  @BeforeEach
  void needsRoot() {
    Root.assumeRoot();
    Root.assumeCommands(
        "sgdisk", "sfdisk", "mke2fs", "e2fsck", "mkfs.fat", "fsck.fat", "mmd", "mcopy", "sync");
  }

  @AfterEach
  void cleanUp() {
    cleanup.run(tmp);
  }

  // ---------------------------------------------------------------- filesystem kinds

  /** How a filesystem is made, populated, checked and read back. */
  enum Kind {
    EXT,
    FAT,
    NTFS,
    XFS,
    BTRFS
  }

  /**
   * One filesystem variant.
   *
   * @param name shown in the test name
   * @param kind which tools make and check it
   * @param expected the filesystem name imprint must report
   * @param size the partition's size
   * @param mkfs the mkfs command line; the populating option (ext, xfs, btrfs) and the partition
   *     file are appended
   */
  record Variant(String name, Kind kind, String expected, long size, List<String> mkfs) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static List<String> mke2fs(String type, String extended, String... more) {
    List<String> argv =
        new ArrayList<>(
            List.of(
                "mke2fs",
                "-q",
                "-F",
                "-t",
                type,
                "-L",
                "imprint",
                // No discard: on a file it punches holes, and the "deleted data" would vanish.
                "-E",
                extended.isEmpty() ? "nodiscard" : "nodiscard," + extended));
    argv.addAll(List.of(more));
    return argv;
  }

  static Stream<Variant> variants() {
    return Stream.of(
        // Small filesystems get 1 KiB blocks ("small" in mke2fs.conf): 8 groups of 8 MiB.
        new Variant("ext4 defaults", Kind.EXT, "ext4", SMALL_FS, mke2fs("ext4", "")),
        new Variant(
            "ext4 -O 64bit, 4 KiB blocks, 8 groups",
            Kind.EXT,
            "ext4",
            SMALL_FS,
            mke2fs("ext4", "", "-O", "64bit", "-b", "4096", "-g", "2048")),
        new Variant(
            "ext4 -O ^flex_bg", Kind.EXT, "ext4", SMALL_FS, mke2fs("ext4", "", "-O", "^flex_bg")),
        new Variant(
            "ext4 -O ^64bit (32-byte descriptors)",
            Kind.EXT,
            "ext4",
            SMALL_FS,
            mke2fs("ext4", "", "-O", "^64bit")),
        new Variant(
            "ext4 uninit_bg, lazy_itable_init",
            Kind.EXT,
            "ext4",
            SMALL_FS,
            mke2fs("ext4", "lazy_itable_init=1", "-O", "^metadata_csum,uninit_bg")),
        new Variant(
            "ext4 uninit_bg, ^flex_bg, 4 KiB blocks",
            Kind.EXT,
            "ext4",
            SMALL_FS,
            mke2fs(
                "ext4",
                "lazy_itable_init=1",
                "-O",
                "^metadata_csum,^flex_bg,uninit_bg",
                "-b",
                "4096",
                "-g",
                "2048")),
        new Variant("ext3", Kind.EXT, "ext3", SMALL_FS, mke2fs("ext3", "")),
        new Variant("ext2", Kind.EXT, "ext2", SMALL_FS, mke2fs("ext2", "")),
        new Variant(
            "FAT16",
            Kind.FAT,
            "vfat",
            SMALL_FS,
            List.of("mkfs.fat", "-F", "16", "-n", "IMPRINT", "-h", "2048")),
        new Variant(
            "FAT32",
            Kind.FAT,
            "vfat",
            SMALL_FS,
            List.of("mkfs.fat", "-F", "32", "-s", "1", "-n", "IMPRINT", "-h", "2048")),
        new Variant(
            "NTFS",
            Kind.NTFS,
            "ntfs",
            SMALL_FS,
            List.of("mkntfs", "-F", "-Q", "-q", "-p", "2048", "-L", "imprint")),
        new Variant(
            "XFS", Kind.XFS, "xfs", XFS_FS, List.of("mkfs.xfs", "-q", "-f", "-K", "-L", "imprint")),
        // -K: no discard, as for mke2fs. Metadata DUP (two copies) by default on one device.
        new Variant(
            "btrfs defaults (metadata DUP)",
            Kind.BTRFS,
            "btrfs",
            BTRFS_FS,
            List.of("mkfs.btrfs", "-q", "-K", "-f", "-L", "imprint")),
        new Variant(
            "btrfs -m single -d single",
            Kind.BTRFS,
            "btrfs",
            BTRFS_FS,
            List.of(
                "mkfs.btrfs", "-q", "-K", "-f", "-L", "imprint", "-m", "single", "-d", "single")));
  }

  // ---------------------------------------------------------------- 1. every filesystem

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void imagesOnlyUsedBlocksAndRestoresACleanFilesystem(Variant v) throws Exception {
    assumeTools(v.kind());
    Path files = tree(tmp.resolve("files"), 100);
    GptDisk disk = gptDisk(v, files, 1);

    Path image = tmp.resolve("disk.imprint");
    CliRun.Result c = create(disk.file(), image);
    String info = info(image);
    assertEquals("gpt", field(info, "partitionScheme"), info);
    assertEquals(v.expected(), field(partition(info, 1), "filesystem"), info);
    assertEquals("vfat", field(partition(info, 2), "filesystem"), info);
    long unallocated = Long.parseLong(field(info, "unallocatedBytes"));
    // Unallocated is counted in whole chunks (4 MiB); ext2-style layouts put metadata at the
    // start of every 8 MiB group, so only about half of a nearly empty filesystem qualifies.
    assertTrue(
        unallocated > v.size() / 4,
        () -> "only " + unallocated + " bytes left out of a mostly empty disk:\n" + info + c);

    Path all = tmp.resolve("all.imprint");
    CliRun.Result ca =
        CliRun.run(
            "create",
            "--source",
            disk.file().toString(),
            "--output",
            all.toString(),
            "--all-blocks");
    assertEquals(0, ca.code(), ca::toString);
    assertEquals("0", field(info(all), "unallocatedBytes"));
    long usedSize = Files.size(image);
    long allSize = Files.size(all);
    assertTrue(
        usedSize * 4 < allSize,
        () -> "used-blocks image " + usedSize + " bytes, --all-blocks image " + allSize);
    assertTrue(
        usedSize * 4 < v.size(),
        () -> "used-blocks image " + usedSize + " bytes for a " + v.size() + "-byte partition");

    Path target = randomFile("target.bin", disk.size(), 777);
    Unwritten unwritten = Unwritten.sample(image, target);
    LoopDevice dev = loop(target);
    CliRun.Result r = restore(image, dev.path());
    assertEquals(0, r.code(), r::toString);
    Cmd.run("sync");

    assertHoldsImage(image, target);
    unwritten.assertStillThere(target);
    assertValidGpt(target);
    checkAndCompare(v.kind(), target, P1_OFFSET, v.size(), files);
    checkAndCompare(Kind.FAT, target, disk.p2Offset(), P2_SIZE, disk.p2Files());
  }

  // ---------------------------------------------------------------- 2. MBR with logicals

  @Test
  void mbrWithLogicalPartitionsKeepsTheBootGapAndTheTable() throws Exception {
    long size = 128 * MIB;
    Path disk = randomFile("mbr.img", size, 2);
    Files.writeString(
        tmp.resolve("mbr.sfdisk"),
        // Logical partitions each 1 MiB after their EBR, which sfdisk writes in the gap.
        "label: dos\n"
            + "start=2048, size=40MiB, type=83\n"
            + "start=83968, size=80MiB, type=5\n"
            + "start=86016, size=16MiB, type=6\n"
            + "start=120832, size=32MiB, type=83\n");
    sfdiskLoad(disk, tmp.resolve("mbr.sfdisk"));
    String before = sfdiskDump(disk);
    long[] p1 = sfdiskPartition(before, disk, 1);
    long[] p5 = sfdiskPartition(before, disk, 5);
    long[] p6 = sfdiskPartition(before, disk, 6);

    Path files1 = tree(tmp.resolve("files1"), 10);
    Path files5 = smallTree(tmp.resolve("files5"), 50);
    Path files6 = tree(tmp.resolve("files6"), 60);
    makeFilesystem(Kind.EXT, mke2fs("ext4", ""), disk, p1[0], p1[1], files1, 11);
    makeFilesystem(
        Kind.FAT, List.of("mkfs.fat", "-F", "16", "-n", "LOGICAL"), disk, p5[0], p5[1], files5, 51);
    makeFilesystem(Kind.EXT, mke2fs("ext4", ""), disk, p6[0], p6[1], files6, 61);
    // A fake bootloader: boot code in the MBR and 200 KiB in the gap before the first partition.
    byte[] bootCode = TestData.random(440, 3);
    byte[] stage2 = TestData.random(400 * SECTOR, 4);
    writeAt(disk, 0, bootCode);
    writeAt(disk, SECTOR, stage2);
    assertEquals(before, sfdiskDump(disk), "the fixture's table must survive the bootloader");

    Path image = tmp.resolve("mbr.imprint");
    create(disk, image);
    String info = info(image);
    assertEquals("mbr", field(info, "partitionScheme"), info);
    assertEquals("ext4", field(partition(info, 1), "filesystem"), info);
    assertEquals("vfat", field(partition(info, 5), "filesystem"), info);
    assertEquals("ext4", field(partition(info, 6), "filesystem"), info);
    assertTrue(Long.parseLong(field(info, "unallocatedBytes")) > 16 * MIB, info);

    Path target = randomFile("mbr-target.bin", size, 5);
    LoopDevice dev = loop(target);
    CliRun.Result r = restore(image, dev.path());
    assertEquals(0, r.code(), r::toString);
    Cmd.run("sync");

    assertArrayEquals(bootCode, readAt(target, 0, bootCode.length), "MBR boot code");
    assertArrayEquals(stage2, readAt(target, SECTOR, stage2.length), "bootloader in the gap");
    assertEquals(
        before.replace(disk.toString(), "DISK"),
        sfdiskDump(target).replace(target.toString(), "DISK"));
    checkAndCompare(Kind.EXT, target, p1[0], p1[1], files1);
    checkAndCompare(Kind.FAT, target, p5[0], p5[1], files5);
    checkAndCompare(Kind.EXT, target, p6[0], p6[1], files6);
  }

  // ---------------------------------------------------------------- 3. damage: fall back

  @Test
  void aGptWithBothHeadersBrokenIsCopiedRaw() throws Exception {
    Path files = tree(tmp.resolve("files"), 200);
    Variant ext4 = variants().filter(v -> v.name().equals("ext4 defaults")).findFirst().get();
    GptDisk disk = gptDisk(ext4, files, 201);
    // Flip a byte of each header's own CRC32 (offset 16 of the header).
    flipByte(disk.file(), SECTOR + 16);
    flipByte(disk.file(), disk.size() - SECTOR + 16);
    Cmd.Result v = Cmd.result("sgdisk", "-v", disk.file().toString());
    assertTrue(
        v.stdout().contains("Creating new GPT entries") || v.stdout().contains("invalid"),
        () -> "sgdisk should see the damage: " + v.stdout());
    String sha = TestData.sha256(disk.file(), 0, disk.size());

    Path image = tmp.resolve("raw.imprint");
    CliRun.Result c = create(disk.file(), image);
    String said = (c.out() + c.err()).toLowerCase(Locale.ROOT);
    assertTrue(said.contains("partition table"), c::toString);
    assertTrue(said.contains("crc") || said.contains("gpt"), c::toString);
    String info = info(image);
    assertEquals("none", field(info, "partitionScheme"), info);
    assertEquals("0", field(info, "unallocatedBytes"), info);

    // Everything was kept, so the restored disk is the source, byte for byte.
    Path target = randomFile("raw-target.bin", disk.size(), 202);
    LoopDevice dev = loop(target);
    CliRun.Result r = restore(image, dev.path());
    assertEquals(0, r.code(), r::toString);
    Cmd.run("sync");
    assertEquals(sha, TestData.sha256(target, 0, disk.size()));
  }

  @Test
  void anExt4SuperblockFailingItsChecksumIsCopiedWhole() throws Exception {
    Path files = tree(tmp.resolve("files"), 300);
    Variant ext4 = variants().filter(v -> v.name().equals("ext4 defaults")).findFirst().get();
    GptDisk disk = gptDisk(ext4, files, 301);
    // s_volume_name starts at byte 120 of the superblock, which starts 1024 bytes in.
    flipByte(disk.file(), P1_OFFSET + 1024 + 120);
    String sha = TestData.sha256(disk.file(), P1_OFFSET, ext4.size());

    Path image = tmp.resolve("csum.imprint");
    CliRun.Result c = create(disk.file(), image);
    assertTrue((c.out() + c.err()).contains("checksum"), c::toString);
    String info = info(image);
    String p1 = partition(info, 1);
    assertTrue(field(p1, "note").contains("checksum"), info);
    assertEquals("vfat", field(partition(info, 2), "filesystem"), info);

    Path target = randomFile("csum-target.bin", disk.size(), 302);
    LoopDevice dev = loop(target);
    CliRun.Result r = restore(image, dev.path());
    assertEquals(0, r.code(), r::toString);
    Cmd.run("sync");
    assertEquals(
        sha, TestData.sha256(target, P1_OFFSET, ext4.size()), "partition 1 must be copied whole");
    assertValidGpt(target);
    checkAndCompare(Kind.FAT, target, disk.p2Offset(), P2_SIZE, disk.p2Files());
  }

  // ---------------------------------------------------------------- 4. raw source

  @Test
  void aRawDiskRestoredDirectlyCopiesUsedBlocksAndChecksClean() throws Exception {
    Path files = tree(tmp.resolve("files"), 400);
    Variant ext4 = variants().filter(v -> v.name().equals("ext4 defaults")).findFirst().get();
    GptDisk disk = gptDisk(ext4, files, 401);

    Path target = randomFile("direct-target.bin", disk.size(), 402);
    LoopDevice dev = loop(target);
    CliRun.Result r = restore(disk.file(), dev.path());
    assertEquals(0, r.code(), r::toString);
    Cmd.run("sync");

    assertValidGpt(target);
    checkAndCompare(Kind.EXT, target, P1_OFFSET, ext4.size(), files);
    checkAndCompare(Kind.FAT, target, disk.p2Offset(), P2_SIZE, disk.p2Files());
    // Used blocks only: somewhere in the free space the target's own random bytes remain.
    assertTrue(
        !TestData.sha256(target, P1_OFFSET, ext4.size())
            .equals(TestData.sha256(disk.file(), P1_OFFSET, ext4.size())),
        "a raw source should not have been copied block for block");
  }

  // ---------------------------------------------------------------- disks

  /** A GPT disk: the variant in partition 1, a FAT12 partition 2 holding {@code p2Files}. */
  record GptDisk(Path file, long size, long p2Offset, Path p2Files) {}

  private GptDisk gptDisk(Variant v, Path files, long seed) throws Exception {
    long p2Offset = P1_OFFSET + v.size();
    long size = p2Offset + P2_SIZE + MIB;
    Path disk = randomFile("disk-" + seed + ".img", size, seed);
    String type = v.kind() == Kind.FAT || v.kind() == Kind.NTFS ? "0700" : "8300";
    Cmd.run(
        "sgdisk",
        "-o",
        "-n",
        "1:" + P1_OFFSET / SECTOR + ":+" + v.size() / MIB + "M",
        "-t",
        "1:" + type,
        "-c",
        "1:data",
        "-n",
        "2:" + p2Offset / SECTOR + ":+" + P2_SIZE / MIB + "M",
        "-t",
        "2:0700",
        "-c",
        "2:extra",
        disk.toString());
    makeFilesystem(v.kind(), v.mkfs(), disk, P1_OFFSET, v.size(), files, seed + 1);
    Path p2Files = smallTree(tmp.resolve("p2-files-" + seed), seed + 2);
    makeFilesystem(
        Kind.FAT,
        List.of("mkfs.fat", "-F", "12", "-n", "EXTRA"),
        disk,
        p2Offset,
        P2_SIZE,
        p2Files,
        seed + 3);
    assertValidGpt(disk);
    return new GptDisk(disk, size, p2Offset, p2Files);
  }

  /**
   * Fills [offset, offset + size) of {@code disk} with random bytes, makes the filesystem there (in
   * a separate file, copied in) and populates it with {@code files}.
   */
  private void makeFilesystem(
      Kind kind, List<String> mkfs, Path disk, long offset, long size, Path files, long seed)
      throws Exception {
    Path part = randomFile("part-" + seed + ".img", size, seed);
    List<String> argv = new ArrayList<>(mkfs);
    // ext, xfs and btrfs are populated by mkfs itself; FAT and NTFS afterwards.
    switch (kind) {
      case EXT -> argv.addAll(List.of("-d", files.toString()));
      case BTRFS -> argv.addAll(List.of("--rootdir", files.toString()));
      case XFS -> {
        Path proto = tmp.resolve("proto-" + seed + ".txt");
        Files.writeString(proto, protofile(files));
        argv.addAll(List.of("-p", proto.toString()));
      }
      case FAT, NTFS -> {}
    }
    argv.add(part.toString());
    Cmd.run(argv.toArray(String[]::new));
    switch (kind) {
      case FAT -> {
        try (Stream<Path> top = Files.list(files)) {
          for (Path p : top.sorted().toList()) {
            Cmd.run("mcopy", "-s", "-i", part.toString(), p.toString(), "::/");
          }
        }
      }
      case NTFS -> {
        for (String rel : regularFiles(files)) {
          Cmd.run("ntfscp", "-q", part.toString(), files.resolve(rel).toString(), ntfsName(rel));
        }
      }
      case EXT, XFS, BTRFS -> {}
    }
    TestData.copyInto(part, disk, offset);
    Files.delete(part);
  }

  /** NTFS is populated with ntfscp, which makes no directories: nested paths are flattened. */
  private static String ntfsName(String rel) {
    return "/" + rel.replace('/', '_');
  }

  /** An xfs_mkfs protofile that reproduces {@code dir} (directories and regular files). */
  private static String protofile(Path dir) throws IOException {
    StringBuilder b = new StringBuilder("/dev/null\n0 0\nd--755 0 0\n");
    protoEntries(dir, b);
    return b.append("$\n").toString();
  }

  private static void protoEntries(Path dir, StringBuilder b) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.sorted().toList()) {
        String name = p.getFileName().toString();
        if (Files.isDirectory(p)) {
          b.append(name).append(" d--755 0 0\n");
          protoEntries(p, b);
          b.append("$\n");
        } else {
          b.append(name).append(" ---644 0 0 ").append(p.toAbsolutePath()).append('\n');
        }
      }
    }
  }

  /**
   * A few MiB of files: a large and a middle-sized random file, nested directories, many small
   * files (so directories outgrow a single block), text and an empty file.
   */
  private static Path tree(Path root, long seed) throws IOException {
    Files.createDirectories(root.resolve("d1/d2/d3"));
    Files.createDirectories(root.resolve("many"));
    Files.write(root.resolve("big.bin"), TestData.random(2 * MIB + 123, seed));
    Files.write(root.resolve("d1/d2/d3/mid.bin"), TestData.random(700 * 1024 + 5, seed + 1));
    Files.writeString(root.resolve("d1/readme.txt"), "imprint used-blocks test " + seed + "\n");
    Files.write(root.resolve("d1/d2/empty"), new byte[0]);
    SplittableRandom rnd = new SplittableRandom(seed + 2);
    for (int i = 0; i < 40; i++) {
      Files.write(
          root.resolve(String.format(Locale.ROOT, "many/file%02d.dat", i)),
          TestData.random(1 + rnd.nextInt(24 * 1024), seed + 10 + i));
    }
    return root;
  }

  /** A few hundred KiB of files for the small FAT partitions. */
  private static Path smallTree(Path root, long seed) throws IOException {
    Files.createDirectories(root.resolve("efi/boot"));
    Files.write(root.resolve("efi/boot/bootx64.efi"), TestData.random(300 * 1024 + 7, seed));
    Files.writeString(root.resolve("efi/boot/grub.cfg"), "set timeout=" + seed + "\n");
    Files.write(root.resolve("startup.nsh"), TestData.random(5000, seed + 1));
    return root;
  }

  private static List<String> regularFiles(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile)
          .map(p -> root.relativize(p).toString())
          .sorted()
          .toList();
    }
  }

  // ---------------------------------------------------------------- checks

  private void assumeTools(Kind kind) {
    switch (kind) {
      case EXT -> Root.assumeCommands("mke2fs", "e2fsck");
      case FAT -> Root.assumeCommands("mkfs.fat", "fsck.fat", "mcopy");
      case NTFS -> Root.assumeCommands("mkntfs", "ntfscp", "ntfscat", "ntfsfix");
      case XFS -> Root.assumeCommands("mkfs.xfs", "xfs_repair");
      case BTRFS -> Root.assumeCommands("mkfs.btrfs", "btrfs");
    }
  }

  /**
   * Attaches [offset, offset + size) of {@code disk} as a partition, runs the filesystem's checker
   * (read-only) and reads every file of {@code files} back.
   */
  private void checkAndCompare(Kind kind, Path disk, long offset, long size, Path files)
      throws Exception {
    try (LoopDevice part = LoopDevice.attach(disk, offset, size)) {
      String dev = part.path().toString();
      Cmd.Result check =
          switch (kind) {
            case EXT -> Cmd.result("e2fsck", "-fn", dev);
            case FAT -> Cmd.result("fsck.fat", "-n", dev);
            case NTFS -> Cmd.result("ntfsfix", "-n", dev);
            case XFS -> Cmd.result("xfs_repair", "-n", "-f", dev);
            // Data checksums too: a data block wrongly left out shows up here first.
            case BTRFS -> Cmd.result("btrfs", "check", "--readonly", "--check-data-csum", dev);
          };
      assertEquals(
          0,
          check.exitCode(),
          () -> kind + " check at " + offset + ": " + check.stdout() + check.stderr());
      List<String> names = regularFiles(files);
      assertTrue(names.size() > 2, "fixture has files");
      switch (kind) {
        case EXT, XFS -> {
          try (TempMount m = TempMount.mount(part.path(), "ro")) {
            assertSameFiles(kind, files, names, m.mountPoint());
          }
        }
        case FAT -> {
          for (String rel : names) {
            Path out = tmp.resolve("fat-copy");
            Files.deleteIfExists(out);
            Cmd.run("mcopy", "-n", "-i", dev, "::/" + rel, out.toString());
            assertArrayEquals(
                Files.readAllBytes(files.resolve(rel)), Files.readAllBytes(out), "FAT " + rel);
          }
        }
        case NTFS -> {
          for (String rel : names) {
            byte[] got = stdoutBytes("ntfscat", dev, ntfsName(rel));
            assertArrayEquals(Files.readAllBytes(files.resolve(rel)), got, "NTFS " + rel);
          }
        }
        case BTRFS -> {
          // btrfs restore reads the filesystem from the device without mounting it.
          Path out = Files.createDirectories(tmp.resolve("btrfs-restore-" + offset));
          Cmd.run("btrfs", "restore", dev, out.toString());
          assertSameFiles(kind, files, names, out);
        }
      }
    }
  }

  /** Every file {@code names} of {@code files} reads back equal under {@code copy}. */
  private static void assertSameFiles(Kind kind, Path files, List<String> names, Path copy)
      throws IOException {
    for (String rel : names) {
      assertArrayEquals(
          Files.readAllBytes(files.resolve(rel)),
          Files.readAllBytes(copy.resolve(rel)),
          kind + " " + rel);
    }
  }

  /** sgdisk finds a GPT it did not have to invent, and no problems with it. */
  private static void assertValidGpt(Path disk) {
    Cmd.Result r = Cmd.result("sgdisk", "-v", disk.toString());
    assertTrue(
        r.exitCode() == 0
            && r.stdout().contains("No problems found")
            && !r.stdout().contains("Creating new GPT entries")
            && !r.stdout().contains("invalid"),
        () -> "sgdisk -v " + disk + ": " + r.stdout() + r.stderr());
  }

  /**
   * {@code target} holds what the image says matters: every data chunk as decoded and every zero
   * range as zeros. Names the first difference.
   */
  private static void assertHoldsImage(Path image, Path target) throws IOException {
    try (Image img = Image.open(FileDisk.open(image));
        FileChannel b = FileChannel.open(target, StandardOpenOption.READ)) {
      var index = img.metadata().index();
      for (int i = 0; i < index.size(); i++) {
        IndexEntry e = index.get(i);
        if (e.kind() == RangeKind.UNALLOCATED) {
          continue;
        }
        for (long off = e.logicalOffset(); off < e.logicalEnd(); off += 4 * MIB) {
          int len = (int) Math.min(4 * MIB, e.logicalEnd() - off);
          ByteBuffer expected = ByteBuffer.allocateDirect(len);
          if (e.kind() == RangeKind.DATA) {
            Image.decode(e, i, img.readStored(i, null), expected, img.description());
          }
          expected.clear();
          ByteBuffer actual = ByteBuffer.allocateDirect(len);
          while (actual.hasRemaining() && b.read(actual, off + actual.position()) > 0) {}
          actual.flip();
          int at = actual.mismatch(expected);
          if (at >= 0) {
            fail(target + " differs from the image at byte " + (off + at) + " (" + e.kind() + ")");
          }
        }
      }
    }
  }

  /**
   * Bytes of the target inside the image's largest unallocated range, read before the restore: a
   * used-blocks restore must not write there (it is what makes it fast).
   */
  record Unwritten(long offset, byte[] bytes) {
    static Unwritten sample(Path image, Path target) throws IOException {
      IndexEntry largest = null;
      try (Image img = Image.open(FileDisk.open(image))) {
        for (IndexEntry e : img.metadata().index()) {
          if (e.kind() == RangeKind.UNALLOCATED
              && (largest == null || e.logicalLength() > largest.logicalLength())) {
            largest = e;
          }
        }
      }
      assertTrue(largest != null, "the image has no unallocated range");
      int n = (int) Math.min(MIB, largest.logicalLength());
      return new Unwritten(largest.logicalOffset(), readAt(target, largest.logicalOffset(), n));
    }

    void assertStillThere(Path target) throws IOException {
      assertArrayEquals(
          bytes,
          readAt(target, offset, bytes.length),
          "restore wrote into an unallocated range at " + offset);
    }
  }

  // ---------------------------------------------------------------- imprint

  private static CliRun.Result create(Path source, Path image) {
    CliRun.Result r =
        CliRun.run("create", "--source", source.toString(), "--output", image.toString());
    assertEquals(0, r.code(), r::toString);
    return r;
  }

  private static CliRun.Result restore(Path source, Path target) {
    return CliRun.run(
        "restore",
        "--source",
        source.toString(),
        "--target",
        target.toString(),
        "--erase",
        "--noprompt");
  }

  private static String info(Path image) {
    CliRun.Result r = CliRun.run("info", "--source", image.toString(), "--json");
    assertEquals(0, r.code(), r::toString);
    return r.out().strip();
  }

  /** The flat JSON object of partition {@code number} in {@code info --json}. */
  private static String partition(String info, int number) {
    Matcher m = Pattern.compile("\\{\"number\":" + number + ",[^{}]*\\}").matcher(info);
    assertTrue(m.find(), () -> "no partition " + number + " in " + info);
    return m.group();
  }

  /** A string or number field of a flat JSON object (the first with that key). */
  private static String field(String json, String key) {
    Matcher m =
        Pattern.compile("\"" + Pattern.quote(key) + "\":(\"((?:[^\"\\\\]|\\\\.)*)\"|[-0-9.]+)")
            .matcher(json);
    assertTrue(m.find(), () -> "no " + key + " in " + json);
    return m.group(2) != null ? m.group(2) : m.group(1);
  }

  // ---------------------------------------------------------------- MBR

  private static void sfdiskLoad(Path disk, Path script) throws Exception {
    Process p =
        new ProcessBuilder("sfdisk", "-q", "--no-reread", "--no-tell-kernel", disk.toString())
            .redirectInput(script.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "sfdisk hung");
    assertEquals(0, p.exitValue(), () -> "sfdisk: " + out);
  }

  private static String sfdiskDump(Path disk) {
    return Cmd.run("sfdisk", "-d", disk.toString());
  }

  /** {start, size} in bytes of partition {@code n} in an {@code sfdisk -d} dump. */
  private static long[] sfdiskPartition(String dump, Path disk, int n) {
    Matcher m =
        Pattern.compile(
                Pattern.quote(disk.toString() + n)
                    + "\\s*:\\s*start=\\s*(\\d+),\\s*size=\\s*(\\d+)")
            .matcher(dump);
    assertTrue(m.find(), () -> "no partition " + n + " in " + dump);
    return new long[] {Long.parseLong(m.group(1)) * SECTOR, Long.parseLong(m.group(2)) * SECTOR};
  }

  // ---------------------------------------------------------------- files

  private LoopDevice loop(Path backing) {
    LoopDevice d = LoopDevice.attach(backing);
    cleanup.add(d);
    return d;
  }

  private static void writeAt(Path file, long offset, byte[] bytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      f.write(bytes);
    }
  }

  private static byte[] readAt(Path file, long offset, int length) throws IOException {
    byte[] b = new byte[length];
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      f.seek(offset);
      f.readFully(b);
    }
    return b;
  }

  private static void flipByte(Path file, long offset) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      int b = f.read();
      f.seek(offset);
      f.write(b ^ 0x5a);
    }
  }

  /** A command's standard output as bytes (Cmd trims it into a string). */
  private byte[] stdoutBytes(String... argv) throws Exception {
    File out = tmp.resolve("stdout.bin").toFile();
    Process p =
        new ProcessBuilder(argv)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(out)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), () -> String.join(" ", argv) + " hung");
    assertEquals(0, p.exitValue(), () -> String.join(" ", argv) + " failed");
    return Files.readAllBytes(out.toPath());
  }

  private Path randomFile(String name, long size, long seed) throws IOException {
    return TestData.randomFile(tmp.resolve(name), size, seed);
  }
}
