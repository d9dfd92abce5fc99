package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code imprint restore} end to end on real block devices: a GPT disk with an EFI (FAT) and an
 * ext4 partition is imaged once, then restored onto loop devices whose backing files start full of
 * random bytes, so any byte imprint fails to write shows. Needs root and loop devices; skips
 * elsewhere.
 */
class RestoreCommandTest {
  private static final long MIB = EfiRootDisk.MIB;
  private static final long DISK_SIZE = 64 * MIB;
  private static final long EFI_OFFSET = EfiRootDisk.EFI_OFFSET;
  private static final long EFI_SIZE = EfiRootDisk.EFI_SIZE;
  private static final long ROOT_OFFSET = EfiRootDisk.ROOT_OFFSET;
  private static final long ROOT_SIZE = 40 * MIB;

  /** Targets are larger than the image: only the first DISK_SIZE bytes must match. */
  private static final long TARGET_SIZE = DISK_SIZE + 8 * MIB;

  @TempDir static Path shared;

  private static Path rootfs;
  private static Path rawImage;
  private static Path image;
  private static String rawSha;

  @TempDir Path tmp;

  /** Closed in reverse order after each test: loop devices, mounts, read-only flags. */
  private final Cleanup cleanup = new Cleanup();

  @BeforeAll
  static void buildDisk() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands(
        "sgdisk",
        "mkfs.vfat",
        "mmd",
        "mcopy",
        "mke2fs",
        "e2fsck",
        "fsck.fat",
        "blkid",
        "blockdev",
        "zstd",
        "mountpoint",
        "sync");

    rootfs = Files.createDirectories(shared.resolve("rootfs"));
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/hostname"), "imprint-test\n");
    Files.writeString(
        rootfs.resolve("etc/os-release"), "NAME=\"Imprint Test\"\nID=imprint\nVERSION_ID=1\n");
    Files.createDirectories(rootfs.resolve("bin"));
    Files.write(rootfs.resolve("bin/random-a.bin"), TestData.random(6 * MIB, 1));
    Files.createDirectories(rootfs.resolve("var/lib"));
    Files.write(rootfs.resolve("var/lib/random-b.bin"), TestData.random(5 * MIB + 1234, 2));
    Files.createDirectories(rootfs.resolve("deep/a/b/c"));
    Files.write(rootfs.resolve("deep/a/b/c/small.bin"), TestData.random(300 * 1024 + 7, 3));
    Files.createFile(rootfs.resolve("deep/empty"));
    Files.createSymbolicLink(rootfs.resolve("deep/link"), Path.of("a/b/c/small.bin"));

    rawImage = EfiRootDisk.build(shared, rootfs, "imprint-root", ROOT_SIZE, DISK_SIZE);
    assertTrue(validGpt(rawImage.toString()), "the fixture itself must be a valid GPT disk");
    rawSha = TestData.sha256(rawImage, 0, DISK_SIZE);

    image = shared.resolve("disk.imprint");
    CliRun.Result r =
        CliRun.run("create", "--source", rawImage.toString(), "--output", image.toString());
    assertEquals(0, r.code(), r::toString);
  }

  @BeforeEach
  void needsRoot() {
    Root.assumeRoot();
  }

  @AfterEach
  void cleanUp() {
    cleanup.run(tmp);
  }

  // ---------------------------------------------------------------- 1. one target

  @Test
  void restoresGptDiskOntoOneDeviceAndEveryFilesystemChecksClean() throws Exception {
    Path backing = randomFile("target.bin", TARGET_SIZE, 11);
    LoopDevice target = loop(backing);

    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            target.path().toString(),
            "--erase",
            "--noprompt");

    assertEquals(0, r.code(), r::toString);
    // asr's lines, in asr's order.
    List<String> asr =
        List.of(
            "Validating target...done",
            "Validating source...done",
            "Validating sizes...done",
            "Erasing target device " + target.path() + "...done",
            "Restoring ");
    int at = 0;
    for (String line : asr) {
      int next = r.out().indexOf(line, at);
      assertTrue(next >= at, () -> "missing or out of order: " + line + "\n" + r);
      at = next;
    }
    assertTrue(r.out().contains("Verifying"), r::toString);
    assertTrue(r.out().contains("Restore completed successfully."), r::toString);
    assertHoldsImage(backing);

    try (LoopDevice root = LoopDevice.attach(backing, ROOT_OFFSET, ROOT_SIZE)) {
      Cmd.Result fsck = Cmd.result("e2fsck", "-fn", root.path().toString());
      assertEquals(0, fsck.exitCode(), () -> "e2fsck: " + fsck.stdout() + fsck.stderr());
      try (TempMount m = TempMount.mount(root.path(), "ro")) {
        for (String f :
            List.of(
                "etc/hostname",
                "etc/os-release",
                "bin/random-a.bin",
                "var/lib/random-b.bin",
                "deep/a/b/c/small.bin",
                "deep/empty")) {
          assertArrayEquals(
              Files.readAllBytes(rootfs.resolve(f)),
              Files.readAllBytes(m.mountPoint().resolve(f)),
              f);
        }
        assertEquals(
            Path.of("a/b/c/small.bin"),
            Files.readSymbolicLink(m.mountPoint().resolve("deep/link")));
      }
    }
    try (LoopDevice efi = LoopDevice.attach(backing, EFI_OFFSET, EFI_SIZE)) {
      Cmd.Result fsck = Cmd.result("fsck.fat", "-n", efi.path().toString());
      assertEquals(0, fsck.exitCode(), () -> "fsck.fat: " + fsck.stdout() + fsck.stderr());
      Path copied = tmp.resolve("BOOTX64.copy");
      Cmd.run("mcopy", "-i", efi.path().toString(), "::/EFI/BOOT/BOOTX64.EFI", copied.toString());
      assertArrayEquals(
          Files.readAllBytes(shared.resolve("BOOTX64.EFI")), Files.readAllBytes(copied));
    }
  }

  // ---------------------------------------------------------------- 2. three targets, --json

  @Test
  void restoresThreeTargetsAtOnceWithJsonEvents() throws Exception {
    List<Path> backings = new ArrayList<>();
    List<String> devices = new ArrayList<>();
    List<String> args = new ArrayList<>(List.of("restore", "--source", image.toString()));
    for (int i = 0; i < 3; i++) {
      Path b = randomFile("target" + i + ".bin", TARGET_SIZE, 20 + i);
      backings.add(b);
      String dev = loop(b).path().toString();
      devices.add(dev);
      args.addAll(List.of("--target", dev));
    }
    args.addAll(List.of("--erase", "--noprompt", "--json"));

    CliRun.Result r = CliRun.run(args.toArray(String[]::new));

    assertEquals(0, r.code(), r::toString);
    for (Path b : backings) {
      assertHoldsImage(b);
    }
    String summary = null;
    for (String line : r.out().split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      assertTrue(line.startsWith("{") && line.endsWith("}"), () -> "not a JSON object: " + line);
      if (line.contains("\"event\":\"summary\"")) {
        summary = line;
      }
    }
    assertTrue(summary != null, r::toString);
    assertEquals(3, count(summary, "\"state\":\"done\""), summary);
    for (String dev : devices) {
      assertTrue(summary.contains("\"target\":\"" + dev + "\""), summary);
    }
    assertTrue(r.out().contains("\"event\":\"finished\",\"ok\":true"), r::toString);
  }

  // ---------------------------------------------------------------- 3. raw sources

  @Test
  void restoresRawAndZstdCompressedRawImages() throws Exception {
    Path zst = tmp.resolve("disk.img.zst");
    Cmd.run("zstd", "-q", "-3", "-o", zst.toString(), rawImage.toString());
    for (Path source : List.of(rawImage, zst)) {
      Path backing = randomFile("raw-target-" + source.getFileName() + ".bin", TARGET_SIZE, 31);
      LoopDevice target = loop(backing);

      CliRun.Result r =
          CliRun.run(
              "restore",
              "--source",
              source.toString(),
              "--target",
              target.path().toString(),
              "--erase",
              "--noprompt");

      assertEquals(0, r.code(), () -> source + ": " + r);
      assertHoldsImage(backing);
    }
  }

  // ---------------------------------------------------------------- 4. disk to disk

  @Test
  void clonesOneDeviceOntoAnother() throws Exception {
    Path sourceCopy = tmp.resolve("source-disk.img");
    Files.copy(rawImage, sourceCopy);
    LoopDevice source = loop(sourceCopy);
    Path backing = randomFile("clone-target.bin", TARGET_SIZE, 41);
    LoopDevice target = loop(backing);

    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            source.path().toString(),
            "--target",
            target.path().toString(),
            "--erase",
            "--noprompt");

    assertEquals(0, r.code(), r::toString);
    assertHoldsImage(backing);
    assertEquals(
        rawSha, TestData.sha256(sourceCopy, 0, DISK_SIZE), "the source disk must not change");
  }

  // ---------------------------------------------------------------- 5. refusals

  @Test
  void refusesTargetSmallerThanImage() throws Exception {
    long small = 32 * MIB;
    Path backing = randomFile("small.bin", small, 51);
    LoopDevice target = loop(backing);

    CliRun.Result r =
        refused(
            List.of(backing),
            "restore",
            "--source",
            image.toString(),
            "--target",
            target.path().toString(),
            "--erase",
            "--noprompt");

    assertTrue(r.err().contains(Long.toString(small)), r::toString);
    assertTrue(r.err().contains(Long.toString(DISK_SIZE)), r::toString);
    assertTrue(r.err().contains("smaller"), r::toString);
  }

  @Test
  void refusesTheSameDeviceTwice() throws Exception {
    Path backing = randomFile("twice.bin", TARGET_SIZE, 52);
    String dev = loop(backing).path().toString();

    CliRun.Result r =
        refused(
            List.of(backing),
            "restore",
            "--source",
            image.toString(),
            "--target",
            dev,
            "--target",
            dev,
            "--erase",
            "--noprompt");

    assertTrue(r.err().contains("same disk"), r::toString);
  }

  @Test
  void refusesSourceDeviceAsTarget() throws Exception {
    Path backing = tmp.resolve("self.img");
    Files.copy(rawImage, backing);
    String dev = loop(backing).path().toString();

    CliRun.Result r =
        refused(
            List.of(backing), "restore", "--source", dev, "--target", dev, "--erase", "--noprompt");

    assertTrue(r.err().contains("source"), r::toString);
  }

  @Test
  void refusesSourceFileAsTarget() throws Exception {
    Path file = tmp.resolve("self-file.img");
    Files.copy(rawImage, file);

    CliRun.Result r =
        refused(
            List.of(file),
            "restore",
            "--source",
            file.toString(),
            "--target",
            file.toString(),
            "--erase",
            "--noprompt");

    assertTrue(r.err().contains("source"), r::toString);
  }

  /**
   * The source file is the storage behind the target loop device: writing the target overwrites the
   * source while it is being read. Fails until SystemDisks.sameOrRelated looks through loop devices
   * to their backing files (it returns false whenever one side is a block device and the other a
   * regular file); today imprint wipes the source's first MiB, copies the damage onto itself and
   * reports "Restore completed successfully."
   */
  @Test
  void refusesALoopDeviceBackedByTheSourceFile() throws Exception {
    Path file = tmp.resolve("backs-the-target.img");
    Files.copy(rawImage, file);
    String dev = loop(file).path().toString();

    CliRun.Result r =
        refused(
            List.of(file),
            "restore",
            "--source",
            file.toString(),
            "--target",
            dev,
            "--erase",
            "--noprompt");

    assertTrue(r.err().contains("source"), r::toString);
  }

  @Test
  void refusesWithoutErase() throws Exception {
    Path backing = randomFile("noerase.bin", TARGET_SIZE, 53);
    String dev = loop(backing).path().toString();

    CliRun.Result r =
        refused(
            List.of(backing),
            "restore",
            "--source",
            image.toString(),
            "--target",
            dev,
            "--noprompt");

    assertTrue(r.err().contains("--erase"), r::toString);
  }

  @Test
  void refusesToAskWithoutATerminal() throws Exception {
    Path backing = randomFile("noprompt.bin", TARGET_SIZE, 54);
    String dev = loop(backing).path().toString();

    // Standard input is a byte array, not a terminal; even a "y" on it must not count.
    CliRun.Result r =
        refusedWithStdin(
            "y\n".getBytes(StandardCharsets.UTF_8),
            List.of(backing),
            "restore",
            "--source",
            image.toString(),
            "--target",
            dev,
            "--erase");

    assertTrue(r.err().contains("--noprompt"), r::toString);
  }

  @Test
  void refusesNonexistentDevice() throws Exception {
    Path missing = Path.of("/dev/loop-nonexistent");
    assertFalse(Files.exists(missing));

    CliRun.Result r =
        refused(
            List.of(),
            "restore",
            "--source",
            image.toString(),
            "--target",
            missing.toString(),
            "--erase",
            "--noprompt");

    assertTrue(r.err().contains("does not exist"), r::toString);
    assertFalse(Files.exists(missing), "imprint must not create a file under /dev");
  }

  @Test
  void refusesImageSignedByAnUntrustedKey() throws Exception {
    Path keyA = tmp.resolve("a.key");
    Path keyB = tmp.resolve("b.key");
    assertEquals(0, CliRun.run("keygen", "--output", keyA.toString()).code());
    assertEquals(0, CliRun.run("keygen", "--output", keyB.toString()).code());
    Path signed = tmp.resolve("signed.imprint");
    CliRun.Result c =
        CliRun.run(
            "create",
            "--source",
            rawImage.toString(),
            "--output",
            signed.toString(),
            "--sign",
            keyA.toString());
    assertEquals(0, c.code(), c::toString);
    Path backing = randomFile("untrusted.bin", TARGET_SIZE, 55);
    String dev = loop(backing).path().toString();

    refused(
        List.of(backing),
        "restore",
        "--source",
        signed.toString(),
        "--target",
        dev,
        "--erase",
        "--noprompt",
        "--trust",
        keyB + ".pub");

    // The same image with the right key restores: the refusal was about the key, nothing else.
    CliRun.Result ok =
        CliRun.run(
            "restore",
            "--source",
            signed.toString(),
            "--target",
            dev,
            "--erase",
            "--noprompt",
            "--trust",
            keyA + ".pub");
    assertEquals(0, ok.code(), ok::toString);
    assertHoldsImage(backing);
  }

  // ---------------------------------------------------------------- 6. mounted targets

  @Test
  void unmountsAMountedTargetAndRestores() throws Exception {
    Path backing = randomFile("mounted.bin", TARGET_SIZE, 61);
    LoopDevice target = loop(backing);
    TempMount mount = mountFreshExt4(target);
    Files.writeString(mount.mountPoint().resolve("old.txt"), "old contents\n");

    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            target.path().toString(),
            "--erase",
            "--noprompt");

    assertEquals(0, r.code(), r::toString);
    assertFalse(isMountPoint(mount.mountPoint()), "the target must have been unmounted");
    assertFalse(
        Files.readString(Path.of("/proc/self/mounts")).contains(target.path() + " "),
        "nothing may stay mounted from the target");
    assertHoldsImage(backing);
  }

  @Test
  void refusesABusyMountedTargetAndLeavesItAlone() throws Exception {
    Path backing = randomFile("busy.bin", TARGET_SIZE, 62);
    LoopDevice target = loop(backing);
    TempMount mount = mountFreshExt4(target);
    Path kept = mount.mountPoint().resolve("kept.txt");
    Files.writeString(kept, "in use\n");
    Cmd.run("sync");

    try (FileChannel open = FileChannel.open(kept, StandardOpenOption.READ)) {
      CliRun.Result r =
          refused(
              List.of(backing),
              "restore",
              "--source",
              image.toString(),
              "--target",
              target.path().toString(),
              "--erase",
              "--noprompt");

      assertTrue(r.err().toLowerCase(Locale.ROOT).contains("busy"), r::toString);
      assertTrue(isMountPoint(mount.mountPoint()), "a busy target must stay mounted");
      assertEquals("in use\n", Files.readString(kept));
      assertTrue(open.isOpen());
    }
  }

  // ---------------------------------------------------------------- 7. faults

  @Test
  void oneTargetRunningOutOfSpaceFailsAloneWhileTheOthersFinish() throws Exception {
    Path small = Files.createDirectories(tmp.resolve("tmpfs"));
    Cmd.run("mount", "-t", "tmpfs", "-o", "size=8m", "imprint-test-tmpfs", small.toString());
    cleanup.add(() -> Cmd.run("umount", small.toString()));
    // Sparse: the loop device is as large as the image, but only 8 MiB can ever be stored.
    Path sparse = small.resolve("full.bin");
    TestData.setLength(sparse, DISK_SIZE);
    Path good1 = randomFile("good1.bin", TARGET_SIZE, 71);
    Path good2 = randomFile("good2.bin", TARGET_SIZE, 72);
    String bad = loop(sparse).path().toString();
    String dev1 = loop(good1).path().toString();
    String dev2 = loop(good2).path().toString();

    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            dev1,
            "--target",
            bad,
            "--target",
            dev2,
            "--erase",
            "--noprompt");

    assertEquals(ExitCode.TARGETS_FAILED, r.code(), r::toString);
    String all = r.out() + r.err();
    assertTrue(
        Pattern.compile(Pattern.quote(bad) + "[^\\n]*fail", Pattern.CASE_INSENSITIVE)
                .matcher(all)
                .find()
            || all.contains("Target " + bad + " failed"),
        r::toString);
    assertTrue(all.contains(dev1 + ": restored and verified"), r::toString);
    assertTrue(all.contains(dev2 + ": restored and verified"), r::toString);
    assertFalse(all.contains("Restore completed successfully."), r::toString);
    assertHoldsImage(good1);
    assertHoldsImage(good2);
  }

  @Test
  void refusesAReadOnlyDeviceBeforeWritingAnything() throws Exception {
    Path roBacking = randomFile("ro.bin", TARGET_SIZE, 73);
    Path rwBacking = randomFile("rw.bin", TARGET_SIZE, 74);
    String ro = loop(roBacking).path().toString();
    String rw = loop(rwBacking).path().toString();
    Cmd.run("blockdev", "--setro", ro);
    cleanup.add(() -> Cmd.run("blockdev", "--setrw", ro));

    CliRun.Result r =
        refused(
            List.of(roBacking, rwBacking),
            "restore",
            "--source",
            image.toString(),
            "--target",
            rw,
            "--target",
            ro,
            "--erase",
            "--noprompt");

    assertTrue(r.err().contains(ro), r::toString);
    assertTrue(r.err().contains("read-only"), r::toString);
  }

  // ---------------------------------------------------------------- 8. verify

  @Test
  void verifyFindsAFlippedByteAndNamesItsOffset() throws Exception {
    Path file = tmp.resolve("restored.img");
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            image.toString(),
            "--target",
            file.toString(),
            "--erase",
            "--noprompt");
    assertEquals(0, r.code(), r::toString);
    assertEquals(DISK_SIZE, Files.size(file));
    assertHoldsImage(file);
    CliRun.Result clean =
        CliRun.run("verify", "--source", image.toString(), "--target", file.toString());
    assertEquals(0, clean.code(), clean::toString);

    long flip = offsetOfFileData(file, rootfs.resolve("bin/random-a.bin")) + 100;
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(flip);
      int b = f.read();
      f.seek(flip);
      f.write(b ^ 0x5a);
    }

    CliRun.Result v =
        CliRun.run("verify", "--source", image.toString(), "--target", file.toString());

    assertEquals(ExitCode.VERIFY_FAILED, v.code(), v::toString);
    Matcher m = Pattern.compile("differs at byte (\\d+)").matcher(v.out() + v.err());
    assertTrue(m.find(), v::toString);
    long reported = Long.parseLong(m.group(1));
    assertTrue(
        reported <= flip && flip - reported < 4 * MIB,
        () -> "reported " + reported + " for a byte flipped at " + flip + ": " + v);
  }

  // ---------------------------------------------------------------- 9. interrupted stream

  @Test
  void aTruncatedStreamLeavesNoValidLookingDisk() throws Exception {
    Path backing = randomFile("stream-target.bin", TARGET_SIZE, 91);
    Cmd.run("sgdisk", "-o", "-n", "1:2048:+20M", "-n", "2:0:+20M", backing.toString());
    assertTrue(validGpt(backing.toString()), "the target must start as a valid GPT disk");
    LoopDevice target = loop(backing);
    byte[] whole = Files.readAllBytes(image);
    byte[] cut = Arrays.copyOf(whole, (int) (whole.length * 0.8));

    CliRun.Result r =
        CliRun.runWithStdin(
            cut,
            "restore",
            "--source",
            "-",
            "--target",
            target.path().toString(),
            "--erase",
            "--noprompt");

    assertNotEquals(0, r.code(), r::toString);
    assertFalse(r.out().contains("Restore completed successfully."), r::toString);
    String dev = target.path().toString();
    assertFalse(
        validGpt(dev),
        () -> "a valid GPT after a failed restore: " + Cmd.result("sgdisk", "-v", dev).stdout());
    Cmd.Result blkid = Cmd.result("blkid", "-p", "-o", "export", dev);
    assertFalse(blkid.stdout().contains("PTTYPE"), () -> "blkid found: " + blkid.stdout());
  }

  /**
   * A stream that dies before anything past the first MiB is written still leaves nothing to find:
   * the old filesystem at the start of an old partition (1 MiB in) is wiped with the old table.
   */
  @Test
  void oldFilesystemsInsideOldPartitionsAreWipedBeforeWriting() throws Exception {
    Path backing = randomFile("old-fat.bin", TARGET_SIZE, 93);
    Cmd.run("sgdisk", "-o", "-n", "1:2048:+20M", backing.toString());
    try (LoopDevice part = LoopDevice.attach(backing, MIB, 20 * MIB)) {
      Cmd.run("mkfs.vfat", part.path().toString());
    }
    String before =
        Cmd.result("blkid", "-p", "-O", Long.toString(MIB), backing.toString()).stdout();
    assertTrue(before.contains("vfat"), "the old FAT must be found first: " + before);
    LoopDevice target = loop(backing);
    // A zstd stream cut short: it fails while decoding its first MiB.
    Path raw = randomFile("short-src.raw", 8 * MIB, 94);
    Path zst = tmp.resolve("short-src.raw.zst");
    Cmd.run("zstd", "-q", "-1", raw.toString(), "-o", zst.toString());
    byte[] cut = Arrays.copyOf(Files.readAllBytes(zst), 200_000);
    CliRun.Result r =
        CliRun.runWithStdin(
            cut,
            "restore",
            "--source",
            "-",
            "--target",
            target.path().toString(),
            "--erase",
            "--noprompt");
    assertNotEquals(0, r.code(), r::toString);
    String after =
        Cmd.result("blkid", "-p", "-O", Long.toString(MIB), target.path().toString()).stdout();
    assertFalse(after.contains("vfat"), () -> "old FAT still found after the failure: " + after);
  }

  /**
   * A file whose filesystem is mounted through a loop device (here at an offset), or a loop device
   * over such a file, is in use: refused, untouched.
   */
  @Test
  void aFileMountedThroughAnotherLoopDeviceIsRefused() throws Exception {
    Path backing = randomFile("in-use.bin", 32 * MIB, 95);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", "-E", "offset=" + MIB, backing.toString(), "16M");
    LoopDevice inner = LoopDevice.attach(backing, MIB, 16 * MIB);
    cleanup.add(inner);
    TempMount m = TempMount.mount(inner.path());
    cleanup.add(m);
    CliRun.Result onFile =
        refused(
            List.of(backing),
            "restore",
            "--source",
            image.toString(),
            "--target",
            backing.toString(),
            "--erase",
            "--noprompt");
    assertTrue(onFile.err().contains("is in use"), onFile::toString);
    assertTrue(onFile.err().contains(inner.path().toString()), onFile::toString);
    LoopDevice whole = loop(backing);
    CliRun.Result onLoop =
        refused(
            List.of(backing),
            "restore",
            "--source",
            image.toString(),
            "--target",
            whole.path().toString(),
            "--erase",
            "--noprompt");
    assertTrue(onLoop.err().contains("is in use"), onLoop::toString);
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Runs imprint expecting a refusal: exit 2, exactly one line on stderr, and every file in {@code
   * untouched} byte for byte as it was.
   */
  private static CliRun.Result refused(List<Path> untouched, String... args) throws Exception {
    return refusedWithStdin(new byte[0], untouched, args);
  }

  private static CliRun.Result refusedWithStdin(byte[] stdin, List<Path> untouched, String... args)
      throws Exception {
    List<String> before = new ArrayList<>();
    for (Path p : untouched) {
      before.add(TestData.sha256(p, 0, Files.size(p)));
    }
    CliRun.Result r = CliRun.runWithStdin(stdin, args);
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    List<String> lines = r.err().strip().lines().toList();
    assertEquals(1, lines.size(), () -> "want one line on stderr: " + r);
    assertTrue(lines.get(0).startsWith("imprint: "), r::toString);
    assertFalse(r.err().contains("\tat "), () -> "stack trace: " + r);
    Cmd.run("sync");
    for (int i = 0; i < untouched.size(); i++) {
      Path p = untouched.get(i);
      assertEquals(before.get(i), TestData.sha256(p, 0, Files.size(p)), () -> p + " changed: " + r);
    }
    return r;
  }

  private LoopDevice loop(Path backing) {
    LoopDevice d = LoopDevice.attach(backing);
    cleanup.add(d);
    return d;
  }

  /** ext4 made eagerly (no lazy init thread writing later), mounted noatime. */
  private TempMount mountFreshExt4(LoopDevice target) {
    Cmd.run(
        "mkfs.ext4",
        "-q",
        "-F",
        "-E",
        "lazy_itable_init=0,lazy_journal_init=0",
        target.path().toString());
    TempMount m = TempMount.mount(target.path(), "noatime");
    cleanup.add(m);
    return m;
  }

  private static boolean isMountPoint(Path dir) {
    return Cmd.result("mountpoint", "-q", dir.toString()).exitCode() == 0;
  }

  /** sgdisk finds a GPT it did not have to invent, and no problems with it. */
  private static boolean validGpt(String disk) {
    Cmd.Result r = Cmd.result("sgdisk", "-v", disk);
    return r.exitCode() == 0
        && r.stdout().contains("No problems found")
        && !r.stdout().contains("Creating new GPT entries")
        && !r.stdout().contains("invalid");
  }

  /**
   * {@code backing} holds what the image says matters: every data chunk as decoded from the image
   * and every zero range as zeros. Unallocated ranges (blocks the filesystems don't use) may hold
   * anything, such as the random bytes the target was filled with. Names the first difference.
   */
  private static void assertHoldsImage(Path backing) throws IOException {
    assertTrue(Files.size(backing) >= DISK_SIZE, backing + " is smaller than the image");
    try (dev.imprint.engine.image.Image img =
            dev.imprint.engine.image.Image.open(dev.imprint.engine.source.FileDisk.open(image));
        FileChannel b = FileChannel.open(backing, StandardOpenOption.READ)) {
      var index = img.metadata().index();
      for (int i = 0; i < index.size(); i++) {
        var e = index.get(i);
        if (e.kind() == dev.imprint.engine.image.RangeKind.UNALLOCATED) {
          continue;
        }
        for (long off = e.logicalOffset(); off < e.logicalEnd(); off += MIB * 4) {
          int len = (int) Math.min(MIB * 4, e.logicalEnd() - off);
          ByteBuffer expected = ByteBuffer.allocateDirect(len);
          if (e.kind() == dev.imprint.engine.image.RangeKind.DATA) {
            dev.imprint.engine.image.Image.decode(
                e, i, img.readStored(i, null), expected, img.description());
          }
          expected.clear();
          ByteBuffer actual = ByteBuffer.allocateDirect(len);
          while (actual.hasRemaining() && b.read(actual, off + actual.position()) > 0) {}
          actual.flip();
          // On a larger target the protective MBR, the primary GPT header and the old backup GPT
          // are rewritten for the target's size (sgdisk -v checks them); the rest must match.
          blank(expected, actual, off, 0, 1024);
          blank(expected, actual, off, DISK_SIZE - 33 * 512, DISK_SIZE);
          int at = actual.mismatch(expected);
          if (at >= 0) {
            fail(backing + " differs from the image at byte " + (off + at) + " (" + e.kind() + ")");
          }
        }
      }
    }
  }

  private static void blank(ByteBuffer a, ByteBuffer b, long bufOffset, long from, long to) {
    for (long p = Math.max(from, bufOffset); p < Math.min(to, bufOffset + a.limit()); p++) {
      a.put((int) (p - bufOffset), (byte) 0);
      b.put((int) (p - bufOffset), (byte) 0);
    }
  }

  private Path randomFile(String name, long size, long seed) throws IOException {
    return TestData.randomFile(tmp.resolve(name), size, seed);
  }

  /** Where the first 4 KiB block of {@code file}'s contents lies in {@code disk}. */
  private static long offsetOfFileData(Path disk, Path file) throws IOException {
    byte[] needle = Arrays.copyOf(Files.readAllBytes(file), 4096);
    byte[] block = new byte[4096];
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "r")) {
      for (long pos = ROOT_OFFSET; pos + 4096 <= DISK_SIZE; pos += 4096) {
        f.seek(pos);
        f.readFully(block);
        if (Arrays.equals(block, needle)) {
          return pos;
        }
      }
    }
    throw new IllegalStateException(file + " not found in " + disk);
  }

  private static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }
}
