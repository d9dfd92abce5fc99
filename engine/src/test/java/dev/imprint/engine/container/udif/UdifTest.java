package dev.imprint.engine.container.udif;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerExtent;
import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.container.Containers;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Fixtures;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The UDIF reader against real .dmg files made by macOS (the test resources fixtures/udif: raw,
 * zlib, bzip2, ADC and LZFSE chunks with CRC32 checksums), against images built here from the
 * format's description for zero fill, comment and LZMA chunks and MD5/SHA checksums, and against
 * damage.
 */
class UdifTest {
  static final String FIVE = "0786ad1fdcba31a3";

  @TempDir Path tmp;

  static Path fixture(String name) {
    return Fixtures.path("udif").resolve(name);
  }

  static ContainerDisk open(Path p) throws IOException {
    FileDisk in = FileDisk.open(p);
    Udif udif = new Udif();
    assertTrue(udif.recognizes(in), p + " recognised");
    return udif.open(in);
  }

  static byte[] readAll(ContainerDisk d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.size());
    assertEquals(d.size(), d.read(b, 0));
    return b.array();
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @ParameterizedTest
  @CsvSource({
    "compression-raw.dmg, 5242880, " + FIVE,
    "compression-zlib.dmg, 5242880, " + FIVE,
    "compression-bz2.dmg, 5242880, " + FIVE,
    "compression-adc.dmg, 5242880, " + FIVE,
    "compression-lzfse.dmg, 5242880, " + FIVE,
    "gpt.dmg, 9379840, 8a091a4d2f9ad790",
    "raw.dmg, 2342912, 2deccfded5012b34"
  })
  void fixturesDecodeToTheirExpectedBytes(String name, long size, String sha) throws Exception {
    try (ContainerDisk d = open(fixture(name))) {
      assertEquals(size, d.size());
      byte[] all = readAll(d);
      assertTrue(sha256(all).startsWith(sha), name + " decodes to " + sha256(all));
      long[] seen = new long[1];
      d.scan(n -> seen[0] = n);
      assertEquals(size, seen[0]);
      assertTrue(
          d.extents().stream().anyMatch(e -> e.kind() == ContainerExtent.Kind.UNALLOCATED),
          "ignore chunks are unallocated");
      long covered = 0;
      for (ContainerExtent e : d.extents()) {
        assertEquals(covered, e.offset(), "extents cover the disk in order");
        covered = e.end();
      }
      assertEquals(size, covered);
      assertTrue(d.describe().get("checksums").contains("CRC32"), d.describe().toString());
    }
  }

  @Test
  void registryRecognisesADmgByItsTrailer() throws Exception {
    try (FileDisk in = FileDisk.open(fixture("compression-zlib.dmg"))) {
      assertEquals("Apple UDIF (.dmg)", Containers.recognize(in).orElseThrow().name());
    }
  }

  /** Random offsets and lengths from four threads at once read what one whole read gives. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "compression-zlib.dmg",
        "compression-lzfse.dmg",
        "compression-adc.dmg",
        "compression-bz2.dmg",
        "raw.dmg",
        "gpt.dmg"
      })
  void concurrentRandomReadsMatchTheWhole(String name) throws Exception {
    try (ContainerDisk d = open(fixture(name))) {
      byte[] all = readAll(d);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> jobs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          long seed = t;
          jobs.add(
              pool.submit(
                  () -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    for (int i = 0; i < 60; i++) {
                      long pos = rnd.nextLong(d.size());
                      int len = rnd.nextInt(1, 3 << 20);
                      ByteBuffer b =
                          rnd.nextBoolean()
                              ? ByteBuffer.allocate(len)
                              : ByteBuffer.allocateDirect(len);
                      int got = d.read(b, pos);
                      assertEquals(Math.min(len, d.size() - pos), got);
                      byte[] have = new byte[got];
                      b.flip().get(have);
                      byte[] want = java.util.Arrays.copyOfRange(all, (int) pos, (int) pos + got);
                      assertArrayEquals(want, have, "read " + pos + "+" + len);
                    }
                    return null;
                  }));
        }
        for (Future<?> f : jobs) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(0, d.read(ByteBuffer.allocate(10), d.size()));
    }
  }

  @Test
  void theFiveCompressionsHoldIdenticalBytes() throws Exception {
    byte[] first = null;
    for (String c : List.of("raw", "zlib", "bz2", "adc", "lzfse")) {
      try (ContainerDisk d = open(fixture("compression-" + c + ".dmg"))) {
        byte[] all = readAll(d);
        if (first == null) {
          first = all;
        } else {
          assertArrayEquals(first, all, c);
        }
      }
    }
  }

  // --- images built from the format's description ---

  private Path write(byte[] dmg) throws IOException {
    Path p = Files.createTempFile(tmp, "built", ".dmg");
    Files.write(p, dmg);
    return p;
  }

  private static byte[] sectors(int n, long seed) {
    return TestData.random(n * 512L, seed);
  }

  @ParameterizedTest
  @EnumSource(UdifBuilder.Sum.class)
  void everyChunkTypeAndChecksumOfBuiltImages(UdifBuilder.Sum sum) throws Exception {
    byte[] raw = sectors(3, 1);
    byte[] zlib = sectors(8, 2);
    byte[] lzma = new byte[64 * 512];
    System.arraycopy(sectors(4, 3), 0, lzma, 1000, 2048);
    byte[][] others = {sectors(2, 10), sectors(3, 11), sectors(4, 12)};
    byte[] dmg =
        new UdifBuilder()
            .checksums(sum)
            .table(
                new UdifBuilder.Part(Chunk.RAW, raw),
                new UdifBuilder.Part(Chunk.ZERO_FILL, new byte[5 * 512]),
                new UdifBuilder.Part(Chunk.LZMA, lzma))
            .table(
                new UdifBuilder.Part(Chunk.IGNORE, new byte[7 * 512]),
                new UdifBuilder.Part(Chunk.ZLIB, zlib))
            .table(
                new UdifBuilder.Part(Chunk.BZIP2, others[0]),
                new UdifBuilder.Part(Chunk.ADC, others[1]),
                new UdifBuilder.Part(Chunk.LZFSE, others[2]))
            .build();
    try (ContainerDisk d = open(write(dmg))) {
      byte[] all = readAll(d);
      java.io.ByteArrayOutputStream want = new java.io.ByteArrayOutputStream();
      want.write(raw);
      want.write(new byte[5 * 512]);
      want.write(lzma);
      want.write(new byte[7 * 512]);
      want.write(zlib);
      for (byte[] o : others) {
        want.write(o);
      }
      assertArrayEquals(want.toByteArray(), all);
      d.scan(n -> {});
      assertEquals(
          List.of(
              new ContainerExtent(0, 3 * 512, ContainerExtent.Kind.DATA),
              new ContainerExtent(3 * 512, 5 * 512, ContainerExtent.Kind.ZERO),
              new ContainerExtent(8 * 512, 64 * 512, ContainerExtent.Kind.DATA),
              new ContainerExtent(72 * 512, 7 * 512, ContainerExtent.Kind.UNALLOCATED),
              new ContainerExtent(79 * 512, 17 * 512, ContainerExtent.Kind.DATA)),
          d.extents());
      String label =
          switch (sum) {
            case NONE -> "none";
            case CRC32 -> "CRC32";
            case MD5 -> "MD5";
            case SHA1 -> "SHA-1";
            case SHA256 -> "SHA-256";
          };
      String checksums = d.describe().get("checksums");
      assertTrue(checksums.endsWith("blkx " + label), checksums);
      assertTrue(d.describe().get("chunks").contains("LZMA 1"), d.describe().toString());
    }
  }

  /** Zero-fill chunks may be counted in a table's checksum as zeros or left out: both match. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void zeroFillCountsEitherWayInTableChecksums(boolean counted) throws Exception {
    byte[] raw = sectors(2, 6);
    byte[] dmg =
        new UdifBuilder()
            .zeroFillInSums(counted)
            .table(
                new UdifBuilder.Part(Chunk.RAW, raw),
                new UdifBuilder.Part(Chunk.ZERO_FILL, new byte[9 * 512]),
                new UdifBuilder.Part(Chunk.RAW, raw))
            .build();
    try (ContainerDisk d = open(write(dmg))) {
      readAll(d);
      d.scan(n -> {});
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = UdifBuilder.Sum.class,
      names = {"CRC32", "MD5", "SHA1", "SHA256"})
  void aChangedByteFailsTheTableChecksum(UdifBuilder.Sum sum) throws Exception {
    byte[] raw = sectors(4, 9);
    byte[] dmg =
        new UdifBuilder().checksums(sum).table(new UdifBuilder.Part(Chunk.RAW, raw)).build();
    // Change a raw byte and the data fork checksum to match, so only the table's checksum sees it.
    dmg[700] ^= 1;
    UdifChecksum.Running f = new UdifChecksum(sum.type, sum.bits, new byte[0]).start();
    f.update(dmg, 0, raw.length);
    int kolyAt = dmg.length - Koly.SIZE;
    System.arraycopy(f.finish(), 0, dmg, kolyAt + 88, sum.bits / 8);
    try (ContainerDisk d = open(write(dmg))) {
      ImageDamagedException e = assertThrows(ImageDamagedException.class, () -> d.scan(n -> {}));
      assertTrue(e.getMessage().contains("blkx 0"), e.getMessage());
      // A read that covers the whole table checks it too; one that covers part of it cannot.
      assertThrows(ImageDamagedException.class, () -> readAll(d));
      assertEquals(512, d.read(ByteBuffer.allocate(512), 512));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {Chunk.ZLIB, Chunk.LZMA, Chunk.BZIP2, Chunk.ADC, Chunk.LZFSE})
  void aDecompressionBombIsStoppedAtTheDeclaredSize(int type) throws Exception {
    // 1 MiB of zeros in a chunk that declares one sector; the builder's ADC and LZFSE store
    // literally (a stored size far beyond one sector is refused at open), so two sectors there.
    boolean literal = type == Chunk.ADC || type == Chunk.LZFSE;
    byte[] content = literal ? sectors(2, 8) : new byte[2048 * 512];
    byte[] dmg =
        new UdifBuilder()
            .checksums(UdifBuilder.Sum.NONE)
            .table(new UdifBuilder.Part(type, content, 1))
            .build();
    try (ContainerDisk d = open(write(dmg))) {
      ImageDamagedException e =
          assertThrows(ImageDamagedException.class, () -> d.read(ByteBuffer.allocate(512), 0));
      assertTrue(e.getMessage().contains("more than the 512 bytes"), e.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {Chunk.ZLIB, Chunk.LZMA, Chunk.BZIP2, Chunk.ADC, Chunk.LZFSE})
  void aShortChunkIsDamage(int type) throws Exception {
    // Two sectors of content in a chunk that declares three.
    byte[] dmg =
        new UdifBuilder()
            .checksums(UdifBuilder.Sum.NONE)
            .table(new UdifBuilder.Part(type, sectors(2, 4), 3))
            .build();
    try (ContainerDisk d = open(write(dmg))) {
      ImageDamagedException e =
          assertThrows(ImageDamagedException.class, () -> d.read(ByteBuffer.allocate(512), 0));
      assertTrue(e.getMessage().contains("the image is damaged"), e.getMessage());
    }
  }

  @Test
  void damagedTablesAreReportedAtOpen() throws Exception {
    byte[] raw = sectors(4, 5);
    // Each edit of the table (first data entry at 204 + 40) or trailer, and what the message names.
    record Case(
        String what,
        java.util.function.Consumer<ByteBuffer> table,
        java.util.function.Consumer<ByteBuffer> koly) {}
    int e1 = BlockTable.HEADER + BlockTable.ENTRY;
    List<Case> cases =
        List.of(
            new Case("signature", b -> b.putInt(0, 0x6d697369), k -> {}),
            new Case("chunk count", b -> b.putInt(200, 0x7fffffff), k -> {}),
            new Case("stored range", b -> b.putLong(e1 + 24, 1L << 40), k -> {}),
            new Case("stored range", b -> b.putLong(e1 + 32, 1L << 40), k -> {}),
            new Case("sectors", b -> b.putLong(e1 + 16, 1L << 50), k -> {}),
            new Case("sectors", b -> b.putLong(16, 1L << 50), k -> {}),
            new Case("type", b -> b.putInt(e1, 0x80000009), k -> {}),
            new Case("stored length", b -> b.putLong(e1 + 32, 100), k -> {}),
            new Case("sector count", b -> {}, k -> k.putLong(492, -5)),
            new Case("sector count", b -> {}, k -> k.putLong(492, 5)),
            new Case("first sector", b -> b.putLong(8, 1), k -> k.putLong(492, 5)),
            new Case("data fork", b -> {}, k -> k.putLong(32, 1L << 40)),
            new Case("XML property list", b -> {}, k -> k.putLong(224, 1L << 40)),
            new Case("XML property list", b -> {}, k -> k.putLong(216, 3)),
            new Case("master CRC32", b -> {}, k -> k.putInt(360, 12345)));
    for (Case c : cases) {
      byte[] dmg =
          new UdifBuilder()
              .editTable(c.table())
              .editKoly(c.koly())
              .table(new UdifBuilder.Part(Chunk.RAW, raw))
              .build();
      ImageDamagedException e =
          assertThrows(ImageDamagedException.class, () -> open(write(dmg)).close(), c.what());
      assertTrue(e.getMessage().contains(c.what()), c.what() + ": " + e.getMessage());
      assertFalse(e.getMessage().contains("\n"), "one line");
    }
  }

  @Test
  void overlappingChunksAreDamage() throws Exception {
    byte[] raw = sectors(4, 5);
    // Two entries for the same sectors: the second entry starts where the first does.
    int e2 = BlockTable.HEADER + 2 * BlockTable.ENTRY;
    byte[] dmg =
        new UdifBuilder()
            .editTable(b -> b.putLong(e2 + 8, 1))
            .table(new UdifBuilder.Part(Chunk.RAW, raw), new UdifBuilder.Part(Chunk.RAW, raw))
            .build();
    ImageDamagedException e =
        assertThrows(ImageDamagedException.class, () -> open(write(dmg)).close());
    assertTrue(e.getMessage().contains("overlap"), e.getMessage());
  }

  @Test
  void flippedBytesInTheTablesFailCleanly() throws Exception {
    byte[] good = Files.readAllBytes(fixture("compression-zlib.dmg"));
    int xmlAt = 2973;
    int xmlEnd = good.length - Koly.SIZE;
    int damaged = 0;
    for (int at = xmlAt; at < good.length; at += 13) {
      byte[] bad = good.clone();
      bad[at] ^= 0x10;
      Path p = write(bad);
      try (FileDisk in = FileDisk.open(p)) {
        Udif udif = new Udif();
        if (!udif.recognizes(in)) {
          continue; // the trailer's magic itself
        }
        try (ContainerDisk d = udif.open(FileDisk.open(p))) {
          readAll(d);
          d.scan(n -> {});
        } catch (ImageDamagedException | ContainerRefusedException expected) {
          // A flip in the trailer's segment count reads as a segment of a larger image: refused.
          assertFalse(expected.getMessage().contains("\n"), expected.getMessage());
          damaged++;
        }
      }
      Files.delete(p);
    }
    assertTrue(damaged > (good.length - xmlAt) / 13 / 3, "most flips are found: " + damaged);
    assertTrue(xmlEnd > xmlAt);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "compression-zlib.dmg",
        "compression-bz2.dmg",
        "compression-adc.dmg",
        "compression-lzfse.dmg"
      })
  void flippedBytesInCompressedDataAreFound(String name) throws Exception {
    byte[] good = Files.readAllBytes(fixture(name));
    long forkLength =
        ByteBuffer.wrap(good, good.length - Koly.SIZE, Koly.SIZE)
            .getLong(good.length - Koly.SIZE + 32);
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 0; i < 40; i++) {
      byte[] bad = good.clone();
      bad[rnd.nextInt((int) forkLength)] ^= (byte) (1 << rnd.nextInt(8));
      try (ContainerDisk d = open(write(bad))) {
        assertThrows(ImageDamagedException.class, () -> d.scan(n -> {}));
        try {
          readAll(d);
        } catch (ImageDamagedException expected) {
          assertFalse(expected.getMessage().contains("\n"));
        }
      }
    }
  }

  @Test
  void truncatedImages() throws Exception {
    byte[] good = Files.readAllBytes(fixture("compression-lzfse.dmg"));
    // Cut at the end: the trailer is gone, so it is no longer recognised as a UDIF at all.
    for (int cut : new int[] {1, 100, 511, 512, 5000}) {
      byte[] shorter = java.util.Arrays.copyOf(good, good.length - cut);
      try (FileDisk in = FileDisk.open(write(shorter))) {
        assertFalse(new Udif().recognizes(in));
      }
    }
    // Bytes lost from the middle with the trailer intact: its offsets pass the file's end.
    for (int lost : new int[] {1, 1000, 2800}) {
      byte[] shorter = new byte[good.length - lost];
      System.arraycopy(good, lost, shorter, 0, shorter.length);
      assertThrows(ImageDamagedException.class, () -> open(write(shorter)).close());
    }
  }

  @ParameterizedTest
  @CsvSource({
    "encrcdsa, encrypted",
    "AEA1, Encrypted Archive",
    "sprs, sparse image",
    "<?xml version=\"1.0\"?><plist><dict><key>diskimage-bundle-type</key><string>com.apple.diskimage.sparsebundle</string></dict></plist>, sparse bundle"
  })
  void encryptedAndSparseImagesAreRefused(String head, String says) throws Exception {
    byte[] b = new byte[8192];
    byte[] h = head.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    System.arraycopy(h, 0, b, 0, h.length);
    Path p = write(b);
    try (FileDisk in = FileDisk.open(p)) {
      assertTrue(new Udif().recognizes(in));
      ContainerRefusedException e =
          assertThrows(ContainerRefusedException.class, () -> new Udif().open(in));
      assertTrue(e.getMessage().contains(says), e.getMessage());
      assertTrue(
          e.getMessage().contains("hdiutil") || e.getMessage().contains("aea"), e.getMessage());
    }
  }

  @Test
  void aVersion1EncryptedTrailerAndASegmentAreRefused() throws Exception {
    byte[] b = new byte[8192];
    System.arraycopy("cdsaencr".getBytes(), 0, b, b.length - 8, 8);
    try (FileDisk in = FileDisk.open(write(b))) {
      assertTrue(new Udif().recognizes(in));
      assertThrows(ContainerRefusedException.class, () -> new Udif().open(in));
    }
    byte[] dmg =
        new UdifBuilder()
            .editKoly(k -> k.putInt(56, 1).putInt(60, 3))
            .table(new UdifBuilder.Part(Chunk.RAW, sectors(1, 1)))
            .build();
    ContainerRefusedException e =
        assertThrows(ContainerRefusedException.class, () -> open(write(dmg)).close());
    assertTrue(e.getMessage().contains("segment 1 of a 3-segment"), e.getMessage());
  }
}
