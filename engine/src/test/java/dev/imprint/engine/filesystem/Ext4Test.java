package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** ext2/3/4 images made by mke2fs, mapped, scrambled outside the map, then checked by e2fsck. */
class Ext4Test {
  @BeforeAll
  static void tools() {
    Root.assume(
        Cmd.exists("mke2fs") && Cmd.exists("e2fsck") && Cmd.exists("debugfs"),
        "e2fsprogs not installed");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "ext4 default (1k)     | -t ext4                                                   | 128",
        "ext4 no flex_bg       | -t ext4 -g 8192 -O ^flex_bg                               | 128",
        "ext4 64bit            | -t ext4 -b 4096 -g 8192 -O 64bit                          | 256",
        "ext4 4k blocks        | -t ext4 -b 4096                                           | 256",
        "ext4 uninit_bg lazy   | -t ext4 -g 8192 -O ^metadata_csum,uninit_bg -E lazy_itable_init=1 | 128",
        "ext4 1k blocks        | -t ext4 -b 1024                                           | 64",
        "ext4 meta_bg          | -t ext4 -g 8192 -O meta_bg,^resize_inode                  | 128",
        "ext4 sparse_super2    | -t ext4 -g 8192 -O sparse_super2                          | 128",
        "ext3                  | -t ext3 -g 8192                                           | 128",
        "ext2                  | -t ext2 -g 8192                                           | 128",
      })
  void garbageOutsideTheMapLeavesTheFilesystemClean(
      String label, String options, int mib, @TempDir Path tmp) throws Exception {
    Path tree = Files.createDirectory(tmp.resolve("tree"));
    Map<String, byte[]> files = FsImages.populate(tree);
    Path image = FsImages.blank(tmp.resolve("fs.img"), (long) mib << 20);
    List<String> argv = new ArrayList<>(List.of("mke2fs", "-q", "-F"));
    argv.addAll(List.of(options.trim().split("\\s+")));
    argv.addAll(List.of("-d", tree.toString(), image.toString()));
    Cmd.run(argv.toArray(String[]::new));

    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().contains("block bitmaps"), map.how());
    FsImages.assertSparse(map, 0.5);
    // The map must agree with the superblock's free count (exact after mke2fs).
    String header = Cmd.run("dumpe2fs", "-h", image.toString());
    long blocks = field(header, "Block count");
    long free = field(header, "Free blocks");
    long blockSize = field(header, "Block size");
    assertEquals((blocks - free) * blockSize, map.usedBytes(), map.how());

    Path scrambled = FsImages.scramble(image, map, tmp.resolve("scrambled.img"));
    Cmd.Result fsck = Cmd.result("e2fsck", "-fn", scrambled.toString());
    assertEquals(0, fsck.exitCode(), "e2fsck: " + fsck.stdout() + fsck.stderr());
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Path out = tmp.resolve("out.bin");
      Files.deleteIfExists(out);
      Cmd.run("debugfs", "-R", "dump /" + f.getKey() + " " + out, scrambled.toString());
      assertArrayEquals(f.getValue(), Files.readAllBytes(out), f.getKey());
    }
  }

  @org.junit.jupiter.api.Test
  void uninitialisedGroupsAreNamed(@TempDir Path tmp) throws Exception {
    Path image = FsImages.blank(tmp.resolve("fs.img"), 256L << 20);
    Cmd.run("mke2fs", "-q", "-F", "-t", "ext4", "-g", "8192", image.toString());
    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().matches("ext4 block bitmaps, \\d+ of 32 groups uninitialised"), map.how());
    FsImages.assertSparse(map, 0.15);
  }

  /**
   * mke2fs's lazy inode-table init leaves each table's tail holding the disk's old bytes; the map
   * leaves those tails out, and e2fsck stays clean when they hold anything else.
   */
  @org.junit.jupiter.api.Test
  void neverInitialisedInodeTableTailsAreLeftOut(@TempDir Path tmp) throws Exception {
    Path tree = Files.createDirectory(tmp.resolve("tree"));
    Map<String, byte[]> files = FsImages.populate(tree);
    Path image = tmp.resolve("fs.img");
    byte[] old = new byte[1 << 20];
    java.util.Random random = new java.util.Random(99);
    try (var out = Files.newOutputStream(image)) {
      for (int i = 0; i < 128; i++) {
        random.nextBytes(old);
        out.write(old);
      }
    }
    Cmd.run(
        "mke2fs",
        "-q",
        "-F",
        "-t",
        "ext4",
        "-g",
        "8192",
        "-E",
        "lazy_itable_init=1,nodiscard",
        "-d",
        tree.toString(),
        image.toString());
    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().contains("never-initialised inode tables skipped"), map.how());
    String header = Cmd.run("dumpe2fs", "-h", image.toString());
    long inUse =
        (field(header, "Block count") - field(header, "Free blocks")) * field(header, "Block size");
    assertTrue(map.usedBytes() < inUse, map.usedBytes() + " vs " + inUse);
    Path scrambled = FsImages.scramble(image, map, tmp.resolve("scrambled.img"));
    Cmd.Result fsck = Cmd.result("e2fsck", "-fn", scrambled.toString());
    assertEquals(0, fsck.exitCode(), "e2fsck: " + fsck.stdout() + fsck.stderr());
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Path out = tmp.resolve("out.bin");
      Files.deleteIfExists(out);
      Cmd.run("debugfs", "-R", "dump /" + f.getKey() + " " + out, scrambled.toString());
      assertArrayEquals(f.getValue(), Files.readAllBytes(out), f.getKey());
    }
  }

  private static long field(String dump, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + ":\\s+(\\d+)").matcher(dump);
    assertTrue(m.find(), name + " in dumpe2fs output");
    return Long.parseLong(m.group(1));
  }
}
