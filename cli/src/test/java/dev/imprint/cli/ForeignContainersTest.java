package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.container.ForeignImages;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Foreign containers (qcow2, VHD, VHDX) made by qemu-img from a GPT disk with a FAT and an ext4
 * partition, through every command: restore (file, http, fan-out, a pipe refused), create, info,
 * imagescan, verify, and damage found before anything is written.
 */
class ForeignContainersTest {
  private static final long MIB = 1L << 20;
  private static final long ROOT_SIZE = 48 * MIB;
  private static final long DISK_SIZE = 80 * MIB;

  @TempDir static Path shared;
  @TempDir Path tmp;

  private static Path raw;
  private static String rawSha;
  private static NginxServer nginx;

  @BeforeAll
  static void buildDisk() throws Exception {
    Root.assumeCommands("qemu-img", "sgdisk", "mke2fs", "mkfs.vfat", "mmd", "mcopy");
    Path rootfs = Files.createDirectories(shared.resolve("rootfs"));
    for (int i = 0; i < 3; i++) {
      Files.write(rootfs.resolve("random-" + i + ".bin"), TestData.random(4 * MIB + i, 30 + i));
    }
    Files.writeString(rootfs.resolve("text.txt"), "a line that compresses well\n".repeat(200_000));
    raw = EfiRootDisk.build(shared, rootfs, "root", ROOT_SIZE, DISK_SIZE);
    rawSha = TestData.sha256(raw, 0, DISK_SIZE);
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (nginx != null) {
      nginx.stop();
    }
  }

  private static Path container(ForeignImages.Kind kind) {
    Path p = raw.resolveSibling(kind.name().toLowerCase(java.util.Locale.ROOT) + ".img");
    return Files.exists(p) ? p : ForeignImages.convert(raw, kind);
  }

  private Path zeroTarget(String name) throws Exception {
    Path t = tmp.resolve(name);
    TestData.setLength(t, DISK_SIZE);
    return t;
  }

  private static CliRun.Result restore(String source, Path... targets) {
    java.util.List<String> args = new java.util.ArrayList<>();
    args.add("restore");
    args.add("--source");
    args.add(source);
    for (Path t : targets) {
      args.add("--target");
      args.add(t.toString());
    }
    args.add("--erase");
    args.add("--noprompt");
    return CliRun.run(args.toArray(String[]::new));
  }

  @ParameterizedTest
  @EnumSource(
      value = ForeignImages.Kind.class,
      names = {"QCOW2_ZLIB", "QCOW2_ZSTD", "VHD_DYNAMIC", "VHDX"})
  void restoresEachContainerVerifiedByteForByte(ForeignImages.Kind kind) throws Exception {
    Path target = zeroTarget("target.bin");
    CliRun.Result r = restore(container(kind).toString(), target);
    assertEquals(0, r.code(), r::toString);
    assertTrue(r.out().contains("Verifying"), r::toString);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));
  }

  @Test
  void restoresOntoAStaleDiskWithEveryFilesystemClean() throws Exception {
    Path target = tmp.resolve("stale.bin");
    TestData.randomFile(target, DISK_SIZE, 99);
    CliRun.Result r = restore(container(ForeignImages.Kind.QCOW2_ZLIB).toString(), target);
    assertEquals(0, r.code(), r::toString);
    // The tables and what the filesystems use are the disk's; free blocks may keep stale bytes.
    assertEquals(
        TestData.sha256(raw, 0, EfiRootDisk.EFI_OFFSET),
        TestData.sha256(target, 0, EfiRootDisk.EFI_OFFSET));
    Root.assumeRoot();
    Root.assumeCommands("e2fsck", "fsck.fat");
    try (LoopDevice root = LoopDevice.attach(target, EfiRootDisk.ROOT_OFFSET, ROOT_SIZE);
        LoopDevice efi = LoopDevice.attach(target, EfiRootDisk.EFI_OFFSET, EfiRootDisk.EFI_SIZE)) {
      Cmd.Result fsck = Cmd.result("e2fsck", "-fn", root.path().toString());
      assertEquals(0, fsck.exitCode(), () -> "e2fsck: " + fsck.stdout() + fsck.stderr());
      Cmd.Result fat = Cmd.result("fsck.fat", "-n", efi.path().toString());
      assertEquals(0, fat.exitCode(), () -> "fsck.fat: " + fat.stdout() + fat.stderr());
    }
  }

  @Test
  void fansOutToSeveralTargets() throws Exception {
    Path a = zeroTarget("a.bin");
    Path b = zeroTarget("b.bin");
    CliRun.Result r = restore(container(ForeignImages.Kind.VHDX).toString(), a, b);
    assertEquals(0, r.code(), r::toString);
    assertEquals(rawSha, TestData.sha256(a, 0, DISK_SIZE));
    assertEquals(rawSha, TestData.sha256(b, 0, DISK_SIZE));
  }

  @Test
  void restoresAndDescribesOverHttpRanges() throws Exception {
    Root.assume(NginxServer.available(), "needs nginx (Debian: nginx-light)");
    synchronized (ForeignContainersTest.class) {
      if (nginx == null) {
        nginx = new NginxServer(shared.resolve("nginx"), "1000m");
        Files.copy(container(ForeignImages.Kind.QCOW2_ZSTD), nginx.www().resolve("disk.qcow2"));
        Files.copy(container(ForeignImages.Kind.VHD_FIXED), nginx.www().resolve("disk.vhd"));
        nginx.start();
      }
    }
    for (String name : new String[] {"disk.qcow2", "disk.vhd"}) {
      Path target = zeroTarget(name + ".target");
      CliRun.Result r = restore(nginx.url("/" + name), target);
      assertEquals(0, r.code(), r::toString);
      assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE), name);
    }
    CliRun.Result info = CliRun.run("info", "--source", nginx.url("/disk.qcow2"));
    assertEquals(0, info.code(), info::toString);
    assertTrue(info.out().contains("Container:    qcow2"), info::toString);
  }

  @Test
  void aContainerThroughAPipeIsRefusedWithWhatToDo() throws Exception {
    Path target = tmp.resolve("untouched.bin");
    TestData.randomFile(target, DISK_SIZE, 5);
    String before = TestData.sha256(target);
    byte[] qcow2 = Files.readAllBytes(container(ForeignImages.Kind.QCOW2_ZLIB));
    CliRun.Result r =
        CliRun.runWithStdin(
            qcow2,
            "restore",
            "--source",
            "-",
            "--target",
            target.toString(),
            "--erase",
            "--noprompt");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("download it to a file first"), r::toString);
    assertEquals(before, TestData.sha256(target));
  }

  @Test
  void createConvertsAndKeepsUnallocatedRanges() throws Exception {
    Path image = tmp.resolve("disk.imprint");
    CliRun.Result c =
        CliRun.run(
            "create",
            "--source",
            container(ForeignImages.Kind.QCOW2_ZLIB).toString(),
            "--output",
            image.toString());
    assertEquals(0, c.code(), c::toString);
    CliRun.Result info = CliRun.run("info", "--source", image.toString(), "--json");
    assertEquals(0, info.code(), info::toString);
    assertFalse(info.out().contains("\"unallocatedBytes\":0,"), info::toString);
    Path target = zeroTarget("from-image.bin");
    CliRun.Result r = restore(image.toString(), target);
    assertEquals(0, r.code(), r::toString);
    assertEquals(rawSha, TestData.sha256(target, 0, DISK_SIZE));
  }

  @Test
  void infoShowsTheContainerAndWhatItHolds() {
    CliRun.Result r =
        CliRun.run("info", "--source", container(ForeignImages.Kind.VHD_DYNAMIC).toString());
    assertEquals(0, r.code(), r::toString);
    for (String line :
        new String[] {"Container:    VHD", "type:", "dynamic", "Contents:", "gpt", "ext4"}) {
      assertTrue(r.out().contains(line), () -> "missing " + line + "\n" + r);
    }
    CliRun.Result j =
        CliRun.run("info", "--source", container(ForeignImages.Kind.VHDX).toString(), "--json");
    assertEquals(0, j.code(), j::toString);
    assertTrue(j.out().contains("\"container\":\"VHDX\""), j::toString);
  }

  @Test
  void imagescanChecksTheContainerAndNamesDamage() throws Exception {
    Path good = container(ForeignImages.Kind.QCOW2_ZSTD);
    CliRun.Result ok = CliRun.run("imagescan", "--source", good.toString());
    assertEquals(0, ok.code(), ok::toString);
    Path bad = tmp.resolve("bad.qcow2");
    Files.copy(good, bad);
    long host = firstCompressedCluster(bad);
    try (RandomAccessFile f = new RandomAccessFile(bad.toFile(), "rw")) {
      f.seek(host);
      f.write(new byte[16]);
    }
    CliRun.Result r = CliRun.run("imagescan", "--source", bad.toString());
    assertEquals(ExitCode.DAMAGED, r.code(), r::toString);
    assertTrue(r.err().contains("does not decode"), r::toString);
    assertFalse(r.err().contains("\tat "), r::toString);
  }

  @Test
  void verifyComparesATargetWithTheContainer() throws Exception {
    Path src = container(ForeignImages.Kind.VHDX);
    Path target = zeroTarget("verify.bin");
    assertEquals(0, restore(src.toString(), target).code());
    CliRun.Result ok =
        CliRun.run("verify", "--source", src.toString(), "--target", target.toString());
    assertEquals(0, ok.code(), ok::toString);
    try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw")) {
      f.seek(EfiRootDisk.ROOT_OFFSET + 1024 + 100); // inside the ext4 superblock
      f.write(0x5a);
    }
    CliRun.Result bad =
        CliRun.run("verify", "--source", src.toString(), "--target", target.toString());
    assertEquals(ExitCode.VERIFY_FAILED, bad.code(), bad::toString);
  }

  @Test
  void aDamagedTableIsFoundBeforeAnythingIsWritten() throws Exception {
    Path bad = tmp.resolve("bad-table.qcow2");
    Files.copy(container(ForeignImages.Kind.QCOW2_ZLIB), bad);
    long l2 = l2Table(bad);
    try (RandomAccessFile f = new RandomAccessFile(bad.toFile(), "rw")) {
      f.seek(l2 + 8 * 3);
      f.writeLong((1L << 63) | (Files.size(bad) / 65536 + 10) * 65536);
    }
    Path target = tmp.resolve("kept.bin");
    TestData.randomFile(target, DISK_SIZE, 6);
    String before = TestData.sha256(target);
    CliRun.Result r = restore(bad.toString(), target);
    assertEquals(ExitCode.DAMAGED, r.code(), r::toString);
    assertTrue(r.err().contains("past the end of the file"), r::toString);
    assertEquals(before, TestData.sha256(target));
  }

  @Test
  void aBackingFileIsRefusedWithWhatToDo() throws Exception {
    Path overlay = tmp.resolve("overlay.qcow2");
    Cmd.run(
        "qemu-img",
        "create",
        "-f",
        "qcow2",
        "-b",
        container(ForeignImages.Kind.QCOW2_ZLIB).toString(),
        "-F",
        "qcow2",
        overlay.toString());
    Path target = zeroTarget("never.bin");
    CliRun.Result r = restore(overlay.toString(), target);
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    assertTrue(r.err().contains("flatten it first"), r::toString);
  }

  private static long l2Table(Path qcow2) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(qcow2.toFile(), "r")) {
      f.seek(40);
      long l1 = f.readLong();
      f.seek(l1);
      return f.readLong() & 0x00ff_ffff_ffff_fe00L;
    }
  }

  private static long firstCompressedCluster(Path qcow2) throws Exception {
    long l2 = l2Table(qcow2);
    try (RandomAccessFile f = new RandomAccessFile(qcow2.toFile(), "r")) {
      byte[] table = new byte[65536];
      f.seek(l2);
      f.readFully(table);
      ByteBuffer b = ByteBuffer.wrap(table);
      for (int i = 0; i < table.length / 8; i++) {
        long e = b.getLong(i * 8);
        if ((e & (1L << 62)) != 0) {
          return e & ((1L << 54) - 1);
        }
      }
    }
    throw new AssertionError("qemu-img compressed nothing");
  }
}
