package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** FAT images made by mkfs.vfat and mcopy, scrambled outside the map, then checked by fsck.fat. */
class FatTest {
  @BeforeAll
  static void tools() {
    Root.assume(
        Cmd.exists("mkfs.vfat") && Cmd.exists("fsck.fat") && Cmd.exists("mcopy"),
        "dosfstools or mtools not installed");
  }

  @ParameterizedTest(name = "FAT{0} {1} MiB")
  @CsvSource({"12, 8", "16, 64", "32, 64", "32, 300"})
  void garbageOutsideTheMapLeavesTheFilesystemClean(int bits, int mib, @TempDir Path tmp)
      throws Exception {
    Path tree = Files.createDirectory(tmp.resolve("tree"));
    Map<String, byte[]> files = FsImages.populate(tree);
    Path image = FsImages.blank(tmp.resolve("fs.img"), (long) mib << 20);
    Cmd.run("mkfs.vfat", "-F", String.valueOf(bits), image.toString());
    Cmd.run(
        "mcopy",
        "-s",
        "-i",
        image.toString(),
        tree.resolve("readme.txt").toString(),
        tree.resolve("small.bin").toString(),
        tree.resolve("medium.bin").toString(),
        tree.resolve("big.bin").toString(),
        tree.resolve("sub").toString(),
        "::");

    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().startsWith("FAT" + bits + " table"), map.how());
    FsImages.assertSparse(map, 0.7);

    Path scrambled = FsImages.scramble(image, map, tmp.resolve("scrambled.img"));
    Cmd.Result fsck = Cmd.result("fsck.fat", "-n", scrambled.toString());
    assertEquals(0, fsck.exitCode(), "fsck.fat: " + fsck.stdout() + fsck.stderr());
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Path out = tmp.resolve("out.bin");
      Files.deleteIfExists(out);
      Cmd.run("mcopy", "-n", "-i", scrambled.toString(), "::" + f.getKey(), out.toString());
      assertArrayEquals(f.getValue(), Files.readAllBytes(out), f.getKey());
    }
  }
}
