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

/** NTFS images made by mkntfs and ntfscp, scrambled outside the map, checked with ntfs-3g tools. */
class NtfsTest {
  @BeforeAll
  static void tools() {
    Root.assume(
        Cmd.exists("mkntfs") && Cmd.exists("ntfscp") && Cmd.exists("ntfscat"),
        "ntfs-3g not installed");
  }

  @ParameterizedTest(name = "{0}-byte clusters")
  @CsvSource({"4096, 64", "512, 32", "65536, 128"})
  void garbageOutsideTheMapLeavesTheFilesystemClean(int cluster, int mib, @TempDir Path tmp)
      throws Exception {
    Path tree = Files.createDirectory(tmp.resolve("tree"));
    Map<String, byte[]> files = FsImages.populate(tree);
    Path image = FsImages.blank(tmp.resolve("fs.img"), (long) mib << 20);
    Cmd.run("mkntfs", "-F", "-Q", "-q", "-c", String.valueOf(cluster), image.toString());
    for (String name : files.keySet()) {
      if (!name.contains("/")) { // ntfscp writes into existing directories only
        Cmd.run("ntfscp", "-q", image.toString(), tree.resolve(name).toString(), "/" + name);
      }
    }

    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().startsWith("ntfs $Bitmap"), map.how());
    FsImages.assertSparse(map, 0.5);
    long last = map.volumeLength() - 512;
    assertTrue(
        map.used().get(map.used().size() - 1).end() == map.volumeLength(),
        "the backup boot sector at " + last + " is used");

    Path scrambled = FsImages.scramble(image, map, tmp.resolve("scrambled.img"));
    Cmd.Result fix = Cmd.result("ntfsfix", "-n", scrambled.toString());
    assertEquals(0, fix.exitCode(), "ntfsfix: " + fix.stdout() + fix.stderr());
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      if (f.getKey().contains("/")) {
        continue;
      }
      Path out = tmp.resolve("out.bin");
      Files.deleteIfExists(out);
      Cmd.Result cat =
          Cmd.result(
              "sh",
              "-c",
              "ntfscat \"$0\" \"$1\" > \"$2\"",
              scrambled.toString(),
              "/" + f.getKey(),
              out.toString());
      assertEquals(0, cat.exitCode(), "ntfscat: " + cat.stderr());
      assertArrayEquals(f.getValue(), Files.readAllBytes(out), f.getKey());
    }
  }
}
