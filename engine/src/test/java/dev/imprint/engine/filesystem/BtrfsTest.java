package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.filesystem.Filesystems.Analysis;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.TestData;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Btrfs images made by mkfs.btrfs --rootdir over random bytes, scrambled outside the map, checked
 * by btrfs check (data checksums too, and the 64 MiB superblock mirror where there is one) and read
 * back by btrfs restore: nothing is mounted and nothing needs root.
 */
class BtrfsTest {
  private static final long MIB = 1 << 20;
  private static final long SUPER = 64 << 10;
  private static final long MIRROR = 64 * MIB;

  @TempDir Path tmp;

  @BeforeAll
  static void tools() {
    Assumptions.assumeTrue(
        Cmd.exists("mkfs.btrfs") && Cmd.exists("btrfs"), "btrfs-progs not installed");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "default (metadata DUP)       | 128 |",
        "single metadata, no mirror   |  48 | -m single -d single",
        "mixed block groups           |  48 | --mixed",
        "xxhash checksums             | 128 | --csum xxhash",
        "sha256 checksums             | 128 | --csum sha256",
        "16 KiB nodes                 | 128 | -n 16384",
        "64 KiB nodes                 | 128 | -n 65536",
        "tree blocks as extent items  | 128 | -O ^skinny-metadata",
        "320 MiB                      | 320 |",
      })
  void garbageOutsideTheMapLeavesTheFilesystemClean(String label, long mib, String options)
      throws Exception {
    Made fs = mkfs(mib * MIB, options);
    Path image = fs.image();

    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().startsWith("btrfs extent tree, "), map.how());
    FsImages.assertSparse(map, 0.25);

    Path scrambled = FsImages.scramble(image, map, tmp.resolve("scrambled.img"));
    Cmd.Result check =
        Cmd.result("btrfs", "check", "--readonly", "--check-data-csum", scrambled.toString());
    assertEquals(0, check.exitCode(), "btrfs check: " + check.stdout() + check.stderr());
    if (mib * MIB >= MIRROR + 4096) {
      Cmd.Result mirror =
          Cmd.result("btrfs", "check", "--readonly", "--super", "1", scrambled.toString());
      assertEquals(0, mirror.exitCode(), "mirror superblock: " + mirror.stdout() + mirror.stderr());
    }
    // btrfs check reads a DUP block's second copy only when the first is bad: make them all bad.
    List<Extent> firstCopies = dupFirstCopies(scrambled);
    if (!firstCopies.isEmpty()) {
      Random random = new Random(3);
      try (RandomAccessFile f = new RandomAccessFile(scrambled.toFile(), "rw")) {
        for (Extent e : firstCopies) {
          byte[] garbage = new byte[Math.toIntExact(e.length())];
          random.nextBytes(garbage);
          f.seek(e.offset());
          f.write(garbage);
        }
      }
      Cmd.Result second = Cmd.result("btrfs", "check", "--readonly", scrambled.toString());
      assertEquals(0, second.exitCode(), "second copies: " + second.stdout() + second.stderr());
    }
    Path out = Files.createDirectory(tmp.resolve("restored"));
    Cmd.run("btrfs", "restore", scrambled.toString(), out.toString());
    for (Map.Entry<String, byte[]> f : fs.files().entrySet()) {
      assertArrayEquals(f.getValue(), Files.readAllBytes(out.resolve(f.getKey())), f.getKey());
    }
  }

  @Test
  void aBadFirstCopyOfADupBlockIsReadFromTheSecond() throws Exception {
    Assumptions.assumeTrue(Cmd.exists("btrfs-map-logical"), "btrfs-map-logical not installed");
    Path image = mkfs(128 * MIB, "").image();
    AllocationMap before = FsImages.map(image);
    long[] copies = extentRootCopies(image);
    assertEquals(2, copies.length, "metadata DUP by default");

    FsImages.flip(image, copies[0] + 200);
    assertEquals(before.used(), FsImages.map(image).used());

    FsImages.flip(image, copies[1] + 200);
    Analysis a = FsImages.analyze(image);
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().startsWith("btrfs extent tree block at "), a.note());
    assertTrue(a.note().contains("checksum mismatch"), a.note());
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "0x78 | 4096 | counts don't add up",
        "0x60 | 1    | has a log tree to replay; mount it once",
        "0x88 | 1    | spans 2 devices",
        "0xc4 | 3    | unsupported checksum type blake2b",
        "0x38 | 4    | superblock marks the filesystem as having errors",
      })
  void superblockFieldsThisReaderCannotTrustFallBack(String field, long add, String expected)
      throws Exception {
    Path image = mkfs(48 * MIB, "-m single -d single").image();
    int at = Integer.decode(field);
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      byte[] sb = new byte[4096];
      f.seek(SUPER);
      f.readFully(sb);
      ByteBuffer b = ByteBuffer.wrap(sb).order(ByteOrder.LITTLE_ENDIAN);
      if (at == 0xc4) {
        b.putShort(at, (short) (b.getShort(at) + add));
      } else {
        b.putLong(at, b.getLong(at) + add);
      }
      // Re-sealed, so only the field's meaning can make the reader refuse.
      CRC32C crc = new CRC32C();
      crc.update(sb, 32, sb.length - 32);
      b.putInt(0, (int) crc.getValue());
      f.seek(SUPER);
      f.write(sb);
    }
    Analysis a = FsImages.analyze(image);
    assertEquals("btrfs", a.filesystem());
    assertTrue(a.map().isEmpty());
    assertTrue(a.note().startsWith("btrfs ") && a.note().contains(expected), a.note());
  }

  /** An image and the files put in it. */
  private record Made(Path image, Map<String, byte[]> files) {}

  /** A filesystem of {@code size} bytes, made over random bytes, holding FsImages' tree. */
  private Made mkfs(long size, String extra) throws Exception {
    String options = extra == null ? "" : extra; // an empty CSV column arrives as null
    Path tree = Files.createDirectory(tmp.resolve("tree"));
    Map<String, byte[]> files = FsImages.populate(tree);
    Path image = TestData.randomFile(tmp.resolve("fs.img"), size, size);
    List<String> argv =
        new ArrayList<>(List.of("mkfs.btrfs", "-q", "-f", "-K", "--rootdir", tree.toString()));
    if (!options.isBlank()) {
      argv.addAll(List.of(options.trim().split("\\s+")));
    }
    argv.add(image.toString());
    Cmd.Result mkfs = Cmd.result(argv.toArray(String[]::new));
    if (!options.isBlank()) {
      Assumptions.assumeTrue(mkfs.exitCode() == 0, "mkfs.btrfs " + options + ": " + mkfs.stderr());
    }
    assertEquals(0, mkfs.exitCode(), mkfs.stderr());
    assertEquals(size, Files.size(image), "mkfs.btrfs must not resize the image");
    return new Made(image, files);
  }

  /** The first copy of every DUP chunk, as btrfs itself lists the chunks. */
  private static List<Extent> dupFirstCopies(Path image) {
    String chunks =
        Cmd.run("btrfs", "inspect-internal", "dump-tree", "-t", "chunk", image.toString());
    Matcher m =
        Pattern.compile(
                "length (\\d+) owner \\d+ stripe_len \\d+ type \\S+\\|DUP\\s.*?"
                    + "stripe 0 devid \\d+ offset (\\d+)",
                Pattern.DOTALL)
            .matcher(chunks);
    List<Extent> out = new ArrayList<>();
    while (m.find()) {
      out.add(new Extent(Long.parseLong(m.group(2)), Long.parseLong(m.group(1))));
    }
    return out;
  }

  /** Where the extent tree's root block is stored, one physical offset per copy. */
  private static long[] extentRootCopies(Path image) {
    String roots =
        Cmd.run("btrfs", "inspect-internal", "dump-tree", "-t", "root", image.toString());
    Matcher m =
        Pattern.compile("EXTENT_TREE ROOT_ITEM 0\\).*?\\n.*?bytenr (\\d+)", Pattern.DOTALL)
            .matcher(roots);
    assertTrue(m.find(), roots);
    String map = Cmd.run("btrfs-map-logical", "-l", m.group(1), image.toString());
    Matcher copy = Pattern.compile("mirror \\d+ logical \\d+ physical (\\d+)").matcher(map);
    List<Long> out = new ArrayList<>();
    while (copy.find()) {
      out.add(Long.parseLong(copy.group(1)));
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }
}
