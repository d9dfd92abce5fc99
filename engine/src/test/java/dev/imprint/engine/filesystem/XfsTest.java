package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * XFS images made by mkfs.xfs with a protofile, scrambled outside the map, checked by xfs_repair
 * -n; file bytes are found through xfs_db's block maps, so nothing is mounted.
 */
class XfsTest {
  @BeforeAll
  static void tools() {
    Root.assume(
        Cmd.exists("mkfs.xfs") && Cmd.exists("xfs_repair") && Cmd.exists("xfs_db"),
        "xfsprogs not installed");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "v5 default   | -m crc=1",
        "v4 (no crc)  | -m crc=0",
        "v5 1k blocks | -b size=1024",
        "v5 4 AGs     | -d agcount=4",
      })
  void garbageOutsideTheMapLeavesTheFilesystemClean(String label, String options, @TempDir Path tmp)
      throws Exception {
    Path tree = Files.createDirectory(tmp.resolve("tree"));
    Map<String, byte[]> files = FsImages.populate(tree);
    StringBuilder proto = new StringBuilder("/dev/null\n0 0\nd--755 0 0\n");
    proto.append("sub d--755 0 0\n");
    proto.append("deeper d--755 0 0\n");
    proto.append("last.txt ---644 0 0 ").append(tree.resolve("sub/deeper/last.txt")).append('\n');
    proto.append("$\n");
    proto.append("nested.bin ---644 0 0 ").append(tree.resolve("sub/nested.bin")).append('\n');
    proto.append("$\n");
    for (String name : files.keySet()) {
      if (!name.contains("/")) {
        proto.append(name).append(" ---644 0 0 ").append(tree.resolve(name)).append('\n');
      }
    }
    proto.append("$\n");
    Path protofile = Files.writeString(tmp.resolve("proto"), proto.toString());
    Path image = FsImages.blank(tmp.resolve("fs.img"), 320L << 20);
    String[] opts = options.trim().split("\\s+");
    String[] argv = new String[opts.length + 6];
    argv[0] = "mkfs.xfs";
    argv[1] = "-f";
    argv[2] = "-q";
    System.arraycopy(opts, 0, argv, 3, opts.length);
    argv[3 + opts.length] = "-p";
    argv[4 + opts.length] = protofile.toString();
    argv[5 + opts.length] = image.toString();
    Cmd.Result mkfs = Cmd.result(argv);
    assertEquals(0, mkfs.exitCode(), "mkfs.xfs " + options + ": " + mkfs.stderr());

    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().startsWith("xfs free-space btrees"), map.how());
    FsImages.assertSparse(map, 0.3);
    String sb =
        Cmd.run(
            "xfs_db",
            "-r",
            "-c",
            "sb 0",
            "-c",
            "p dblocks blocksize agblocks fdblocks",
            image.toString());
    long blockSize = value(sb, "blocksize");
    long agblocks = value(sb, "agblocks");

    Path scrambled = FsImages.scramble(image, map, tmp.resolve("scrambled.img"));
    Cmd.Result repair = Cmd.result("xfs_repair", "-n", "-f", scrambled.toString());
    assertEquals(0, repair.exitCode(), "xfs_repair: " + repair.stdout() + repair.stderr());
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      assertArrayEquals(
          f.getValue(),
          read(scrambled, "/" + f.getKey(), f.getValue().length, blockSize, agblocks),
          f.getKey());
    }
  }

  /** A file's bytes, gathered from the extents xfs_db reports. */
  private static byte[] read(Path image, String path, int size, long blockSize, long agblocks)
      throws Exception {
    String bmap = Cmd.run("xfs_db", "-r", "-c", "path " + path, "-c", "bmap", image.toString());
    byte[] out = new byte[size];
    Matcher m =
        Pattern.compile("data offset (\\d+) startblock \\d+ \\((\\d+)/(\\d+)\\) count (\\d+)")
            .matcher(bmap);
    boolean any = false;
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
      while (m.find()) {
        any = true;
        long fileBlock = Long.parseLong(m.group(1));
        long disk =
            (Long.parseLong(m.group(2)) * agblocks + Long.parseLong(m.group(3))) * blockSize;
        long count = Long.parseLong(m.group(4));
        for (long i = 0; i < count && (fileBlock + i) * blockSize < size; i++) {
          int at = (int) ((fileBlock + i) * blockSize);
          f.seek(disk + i * blockSize);
          f.readFully(out, at, (int) Math.min(blockSize, size - at));
        }
      }
    }
    if (!any && size > 0) {
      // Small files may live inline? XFS has no inline data for regular files.
      throw new AssertionError("no extents for " + path + ": " + bmap);
    }
    return out;
  }

  private static long value(String print, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + " = (\\d+)").matcher(print);
    assertTrue(m.find(), name + " in " + print);
    return Long.parseLong(m.group(1));
  }
}
