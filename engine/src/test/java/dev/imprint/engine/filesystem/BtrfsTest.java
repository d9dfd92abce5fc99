package dev.imprint.engine.filesystem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.filesystem.Filesystems.Analysis;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Btrfs images made by mkfs.btrfs --rootdir over random bytes, scrambled outside the map, checked
 * by btrfs check (data checksums too, and the 64 MiB superblock mirror where there is one) and read
 * back by btrfs restore: nothing is mounted and nothing needs root. One test, as root, has the
 * kernel write the filesystem instead, with history.
 */
class BtrfsTest {
  private static final long MIB = 1 << 20;
  private static final long SUPER = 64 << 10;
  private static final long MIRROR = 64 * MIB;

  @TempDir Path tmp;

  @BeforeAll
  static void tools() {
    Root.assume(Cmd.exists("mkfs.btrfs") && Cmd.exists("btrfs"), "btrfs-progs not installed");
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
    Root.assume(Cmd.exists("btrfs-map-logical"), "btrfs-map-logical not installed");
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

  /**
   * A filesystem the kernel wrote, with history: files of every size written and deleted, parts
   * overwritten in place (copy on write), a subvolume and its snapshot, zstd-compressed and
   * reflinked data, a full balance, more churn, then a clean unmount. What was deleted must map as
   * free; with garbage outside the map btrfs check and scrub must pass and every surviving file,
   * the snapshot's too, must read back as written.
   */
  @Test
  void aFilesystemTheKernelChurnedKeepsEverySurvivingFile() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mount", "umount", "mountpoint", "cp", "sync");
    long size = 288 * MIB;
    Path image = TestData.randomFile(tmp.resolve("churned.img"), size, 288);
    Cmd.run("mkfs.btrfs", "-q", "-f", "-K", image.toString());
    Churn churn;
    try (LoopDevice loop = LoopDevice.attach(image);
        // nodiscard: like a disk without TRIM, what is deleted stays on it.
        TempMount mount = mountOrSkip(loop.path(), "nodiscard")) {
      churn = churn(mount.mountPoint());
    }
    String fsTree = Cmd.run("btrfs", "inspect-internal", "dump-tree", "-t", "fs", image.toString());
    assertTrue(fsTree.contains("inline extent data size"), "no inline extent to map around");
    assertTrue(fsTree.contains("compression 3 (zstd)"), "no zstd extent to map");

    AllocationMap map = FsImages.map(image);
    assertTrue(map.how().startsWith("btrfs extent tree, "), map.how());
    // What was deleted is over a quarter of the volume on its own; what lives fits in far less.
    assertTrue(churn.deleted() > size / 4, "deleted only " + churn.deleted());
    FsImages.assertSparse(map, 0.25);

    Path scrambled = FsImages.scramble(image, map, tmp.resolve("scrambled.img"));
    Files.delete(image);
    Cmd.Result check =
        Cmd.result("btrfs", "check", "--readonly", "--check-data-csum", scrambled.toString());
    assertEquals(0, check.exitCode(), "btrfs check: " + check.stdout() + check.stderr());
    try (LoopDevice loop = LoopDevice.attach(scrambled);
        TempMount mount = TempMount.mount(loop.path(), "ro")) {
      Path top = mount.mountPoint();
      // Unlike btrfs check, scrub reads both copies of every DUP block. It exits 0 when a good
      // copy made up for a bad one, so its summary is what tells.
      Cmd.Result scrub = Cmd.result("btrfs", "scrub", "start", "-B", "-r", top.toString());
      assertTrue(
          scrub.exitCode() == 0 && scrub.stdout().contains("no errors found"),
          "btrfs scrub: " + scrub.stdout() + scrub.stderr());
      Set<String> found = new TreeSet<>();
      try (Stream<Path> walk = Files.walk(top)) {
        walk.filter(Files::isRegularFile).forEach(p -> found.add(top.relativize(p).toString()));
      }
      assertEquals(churn.files().keySet(), found);
      for (Map.Entry<String, byte[]> f : churn.files().entrySet()) {
        assertTrue(
            Arrays.equals(f.getValue(), Files.readAllBytes(top.resolve(f.getKey()))), f.getKey());
      }
    }
  }

  /** What a churned filesystem holds (path from its top, content) and how much was deleted. */
  private record Churn(Map<String, byte[]> files, long deleted) {}

  /** Mounts {@code device}, or skips the test where this kernel cannot mount btrfs. */
  private static TempMount mountOrSkip(Path device, String... options) {
    try {
      return TempMount.mount(device, options);
    } catch (IllegalStateException e) {
      return Root.abort("cannot mount btrfs here: " + e.getMessage());
    }
  }

  /** Writes, deletes and rewrites files in the btrfs mounted at {@code top}. */
  private static Churn churn(Path top) throws Exception {
    Random random = new Random(5);
    Map<String, byte[]> files = new TreeMap<>();
    long deleted = 0;
    // Inlined in their tree leaves.
    write(top, files, "tiny.txt", "a few bytes\n".getBytes());
    write(top, files, "inline.bin", FsImages.bytes(random, 1500));
    // Enough small extents that the extent tree needs more than one leaf.
    Files.createDirectory(top.resolve("many"));
    for (int i = 0; i < 1500; i++) {
      write(top, files, "many/" + i, FsImages.bytes(random, 4097 + random.nextInt(12_000)));
    }
    Files.createDirectory(top.resolve("big"));
    write(top, files, "big/a", FsImages.bytes(random, 6 << 20));
    write(top, files, "big/b", FsImages.bytes(random, 9 << 20));
    write(top, files, "big/c", FsImages.bytes(random, 5 << 20));
    Cmd.run("sync");

    deleted += delete(top, files, "big/b");
    for (int i = 0; i < 1500; i += 2) {
      deleted += delete(top, files, "many/" + i);
    }
    overwrite(top, files, "big/a", 100_000, FsImages.bytes(random, 64 << 10));
    overwrite(top, files, "big/a", 4 << 20, FsImages.bytes(random, 300_000));
    overwrite(top, files, "many/1", 10, FsImages.bytes(random, 100));

    Cmd.run("btrfs", "subvolume", "create", top.resolve("vol").toString());
    write(top, files, "vol/data", FsImages.bytes(random, 4 << 20));
    write(top, files, "vol/small", FsImages.bytes(random, 900));
    write(top, files, "vol/medium", FsImages.bytes(random, 200_000));
    Cmd.run(
        "btrfs",
        "subvolume",
        "snapshot",
        top.resolve("vol").toString(),
        top.resolve("snap").toString());
    for (String f : List.of("data", "small", "medium")) {
      files.put("snap/" + f, files.get("vol/" + f).clone());
    }
    // The snapshot keeps the old blocks; the subvolume gets new ones.
    overwrite(top, files, "vol/data", 1 << 20, FsImages.bytes(random, 128 << 10));
    delete(top, files, "vol/small"); // not counted as deleted: the snapshot keeps them
    delete(top, files, "vol/medium");

    Files.createDirectory(top.resolve("zstd"));
    Cmd.run("btrfs", "property", "set", top.resolve("zstd").toString(), "compression", "zstd");
    StringBuilder text = new StringBuilder();
    for (int i = 0; text.length() < 3 << 20; i++) {
      text.append("line ").append(i).append(" of a file that compresses well\n");
    }
    write(top, files, "zstd/text", text.toString().getBytes());
    write(top, files, "zstd/random", FsImages.bytes(random, 1 << 20));

    Cmd.run(
        "cp",
        "--reflink=always",
        top.resolve("big/a").toString(),
        top.resolve("big/a.copy").toString());
    files.put("big/a.copy", files.get("big/a").clone());
    overwrite(top, files, "big/a.copy", 2 << 20, FsImages.bytes(random, 50_000));
    Cmd.run("sync");

    Cmd.run("btrfs", "balance", "start", "--full-balance", top.toString());
    // After the balance: blocks freed inside the chunks it wrote, rewrites, a new file.
    write(top, files, "doomed", FsImages.bytes(random, 72 << 20));
    Cmd.run("sync");
    deleted += delete(top, files, "doomed");
    deleted += delete(top, files, "big/c");
    overwrite(top, files, "zstd/text", 1000, "rewritten".getBytes());
    overwrite(top, files, "snap/data", 0, FsImages.bytes(random, 8192));
    write(top, files, "late.bin", FsImages.bytes(random, 3 << 20));
    Cmd.run("sync");
    return new Churn(files, deleted);
  }

  private static void write(Path top, Map<String, byte[]> files, String name, byte[] content)
      throws IOException {
    Files.write(top.resolve(name), content);
    files.put(name, content);
  }

  private static long delete(Path top, Map<String, byte[]> files, String name) throws IOException {
    Files.delete(top.resolve(name));
    return files.remove(name).length;
  }

  /** Writes {@code part} over a file at {@code at}, in place. */
  private static void overwrite(
      Path top, Map<String, byte[]> files, String name, int at, byte[] part) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(top.resolve(name).toFile(), "rw")) {
      f.seek(at);
      f.write(part);
    }
    System.arraycopy(part, 0, files.get(name), at, part.length);
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
    assertEquals(0, mkfs.exitCode(), "mkfs.btrfs " + options + ": " + mkfs.stderr());
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
