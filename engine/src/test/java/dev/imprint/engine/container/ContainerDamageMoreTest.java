package dev.imprint.engine.container;

import static dev.imprint.engine.container.ContainerDamageTest.assertDamaged;
import static dev.imprint.engine.container.ContainerDamageTest.getInt;
import static dev.imprint.engine.container.ContainerDamageTest.getLong;
import static dev.imprint.engine.container.ContainerDamageTest.putBytes;
import static dev.imprint.engine.container.ContainerDamageTest.putInt;
import static dev.imprint.engine.container.ContainerDamageTest.putLong;
import static dev.imprint.engine.container.ContainerDamageTest.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * More damage to VHDX and dynamic VHD tables than {@link ContainerDamageTest}'s: region table,
 * metadata and dynamic header flips, absurd sizes, blocks placed into the headers, the log or past
 * the end; and qcow2's dirty bit (read) and corrupt bit (damage). Each is found when the container
 * is opened (before anything could be written) and reported as one line of {@link
 * dev.imprint.engine.image.ImageDamagedException}.
 */
class ContainerDamageMoreTest {
  private static final long MIB = 1 << 20;
  private static final long KIB = 1 << 10;
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  @TempDir Path dir;
  private Path vhdx;
  private Path vhd;

  @BeforeEach
  void images() throws IOException {
    Root.assumeCommands("qemu-img");
    Path raw = ForeignImages.raw(dir, 21);
    vhdx = ForeignImages.convert(raw, ForeignImages.Kind.VHDX);
    vhd = ForeignImages.convert(raw, ForeignImages.Kind.VHD_DYNAMIC);
  }

  /** A copy of {@code img} to damage, so every case starts from a sound image. */
  private Path copy(Path img) throws IOException {
    Path c = Files.createTempFile(dir, "damaged", ".img");
    Files.copy(img, c, StandardCopyOption.REPLACE_EXISTING);
    return c;
  }

  // ---------------------------------------------------------------- VHDX

  @Test
  void vhdxRegionTableFlipsNeedOneIntactCopy() throws IOException {
    Path img = copy(vhdx);
    putBytes(img, 192 * KIB + 40, new byte[] {0x5a});
    Containers.open(FileDisk.open(img)).orElseThrow().close(); // the copy at 256 KiB serves
    putBytes(img, 256 * KIB + 40, new byte[] {0x5a});
    assertDamaged(img, "neither copy of its region table");
  }

  @Test
  void vhdxRegionEntriesNotWholeMebibytesTooManyOrPastTheEndAreDamaged() throws IOException {
    Path img = copy(vhdx);
    long entry = regionEntry(img, BAT);
    putLong(img, entry + 16, getLong(img, entry + 16, LE) + 4096, LE);
    fixRegionTables(img);
    assertDamaged(img, "not a multiple of 1 MiB");
    Path many = copy(vhdx);
    putInt(many, 192 * KIB + 8, 5000, LE);
    fixRegionTables(many);
    assertDamaged(many, "exceeds 2047");
    Path far = copy(vhdx);
    putLong(far, regionEntry(far, BAT) + 16, 1024 * MIB, LE);
    fixRegionTables(far);
    assertDamaged(far, "places the table past the end of the file");
  }

  @Test
  void vhdxMetadataTableFlipsAreDamaged() throws IOException {
    Path img = copy(vhdx);
    putBytes(img, metadataRegion(img), new byte[] {'M'}); // the signature "metadata"
    assertDamaged(img, "no metadata table");

    Path count = copy(vhdx);
    putBytes(count, metadataRegion(count) + 10, new byte[] {(byte) 0xff, (byte) 0xff});
    assertDamaged(count, "metadata entry count");

    Path outside = copy(vhdx);
    long item = metadataItem(outside, FILE_PARAMETERS);
    putInt(outside, item + 16, (int) (4 * MIB), LE); // past the 1 MiB metadata region
    assertDamaged(outside, "lies outside the metadata region");
  }

  @Test
  void vhdxAbsurdBlockAndDiskSizesAreDamaged() throws IOException {
    for (long blockSize : new long[] {3 * MIB, 512 * MIB, 4096, 0}) {
      Path img = copy(vhdx);
      putInt(img, metadataValue(img, FILE_PARAMETERS), (int) blockSize, LE);
      assertDamaged(img, "block size is " + blockSize);
    }
    for (long size : new long[] {1L << 60, -512, 0, ForeignImages.RAW_SIZE + 1}) {
      Path img = copy(vhdx);
      putLong(img, metadataValue(img, DISK_SIZE), size, LE);
      assertDamaged(img, "virtual disk size is " + Long.toUnsignedString(size));
    }
    // A size the format allows, for which the table is far too small.
    Path big = copy(vhdx);
    putLong(big, metadataValue(big, DISK_SIZE), 60L << 40, LE);
    assertDamaged(big, "BAT region length");
    Path sector = copy(vhdx);
    putInt(sector, metadataValue(sector, LOGICAL_SECTOR), 1000, LE);
    assertDamaged(sector, "logical sector size is 1000");
  }

  @Test
  void vhdxBlocksInTheHeadersTheLogOrTheTablesAreDamaged() throws IOException {
    long bat = ContainerDamageTest.vhdxBat(vhdx);
    long present = getLong(vhdx, bat, LE);
    assertTrue((present & 7) == 6, "block 0 is present");

    Path headers = copy(vhdx);
    putLong(headers, bat, 6, LE); // FileOffsetMB 0: the headers and region tables
    assertDamaged(headers, "points into the file's header");

    long log = getLong(vhdx, 64 * KIB + 72, LE);
    int logLength = getInt(vhdx, 64 * KIB + 68, LE);
    assertTrue(logLength > 0 && log % MIB == 0, "qemu-img keeps a log area at " + log);
    Path intoLog = copy(vhdx);
    putLong(intoLog, bat, (log / MIB) << 20 | 6, LE);
    assertDamaged(intoLog, "overlap");

    Path intoBat = copy(vhdx);
    putLong(intoBat, bat, (bat / MIB) << 20 | 6, LE);
    assertDamaged(intoBat, "overlap");

    Path intoMetadata = copy(vhdx);
    putLong(intoMetadata, bat, (metadataRegion(vhdx) / MIB) << 20 | 6, LE);
    assertDamaged(intoMetadata, "overlap");

    Path reserved = copy(vhdx);
    putLong(reserved, bat, present | 0x100, LE);
    assertDamaged(reserved, "reserved bits");
    Path state = copy(vhdx);
    putLong(state, bat, present & ~7L | 4, LE);
    assertDamaged(state, "reserved state 4");
  }

  private static final byte[] BAT = guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
  private static final byte[] METADATA = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
  private static final byte[] FILE_PARAMETERS = guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
  private static final byte[] DISK_SIZE = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
  private static final byte[] LOGICAL_SECTOR = guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");

  /** A GUID as VHDX stores it: the first three fields little endian. */
  private static byte[] guid(String text) {
    byte[] b = HexFormat.of().parseHex(text.replace("-", ""));
    byte[] out = b.clone();
    for (int i = 0; i < 4; i++) {
      out[i] = b[3 - i];
    }
    out[4] = b[5];
    out[5] = b[4];
    out[6] = b[7];
    out[7] = b[6];
    return out;
  }

  /** File offset of the region table entry (in the table at 192 KiB) with this GUID. */
  private static long regionEntry(Path img, byte[] id) throws IOException {
    long table = 192 * KIB;
    int count = getInt(img, table + 8, LE);
    for (int i = 0; i < count; i++) {
      long e = table + 16 + 32L * i;
      if (Arrays.equals(read(img, e, 16), id)) {
        return e;
      }
    }
    throw new AssertionError("no region " + HexFormat.of().formatHex(id));
  }

  /** Both region tables made valid again (CRC-32C) after an edit of the first, copied over. */
  private static void fixRegionTables(Path img) throws IOException {
    ContainerDamageTest.fixCrc32c(img, 192 * KIB, (int) (64 * KIB));
    putBytes(img, 256 * KIB, read(img, 192 * KIB, (int) (64 * KIB)));
  }

  static long metadataRegion(Path img) throws IOException {
    return getLong(img, regionEntry(img, METADATA) + 16, LE);
  }

  /** File offset of the metadata table entry with this GUID. */
  private static long metadataItem(Path img, byte[] id) throws IOException {
    long table = metadataRegion(img);
    int count = getInt(img, table + 8, LE) >>> 16;
    for (int i = 0; i < count; i++) {
      long e = table + 32 + 32L * i;
      if (Arrays.equals(read(img, e, 16), id)) {
        return e;
      }
    }
    throw new AssertionError("no metadata item " + HexFormat.of().formatHex(id));
  }

  /** File offset of the value of the metadata item with this GUID. */
  private static long metadataValue(Path img, byte[] id) throws IOException {
    return metadataRegion(img)
        + Integer.toUnsignedLong(getInt(img, metadataItem(img, id) + 16, LE));
  }

  // ---------------------------------------------------------------- qcow2

  @Test
  void qcow2MarkedDirtyIsReadAndMarkedCorruptIsDamaged() throws Exception {
    Path raw = ForeignImages.raw(dir, 22);
    Path dirty = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    putLong(dirty, 72, 1, ByteOrder.BIG_ENDIAN); // stale refcounts only: the tables are sound
    try (ContainerDisk disk = Containers.open(FileDisk.open(dirty)).orElseThrow()) {
      assertEquals(
          dev.imprint.engine.testing.TestData.sha256(raw),
          ContainerReadersTest.sha256(disk, ForeignImages.RAW_SIZE, 1 << 20));
    }
    putLong(dirty, 72, 2, ByteOrder.BIG_ENDIAN);
    assertDamaged(dirty, "qemu marked it corrupt");
  }

  // ---------------------------------------------------------------- VHD

  @Test
  void vhdDynamicHeaderFlipsAreDamaged() throws IOException {
    long header = vhdHeader(vhd);
    Path flipped = copy(vhd);
    putBytes(flipped, header + 100, new byte[] {0x33});
    assertDamaged(flipped, "dynamic header checksum");

    Path cookie = copy(vhd);
    putBytes(cookie, header, new byte[] {'C'});
    fixVhdHeader(cookie, header);
    assertDamaged(cookie, "no dynamic header (cxsparse)");

    Path nowhere = copy(vhd);
    long footer = Files.size(nowhere) - 512;
    putLong(nowhere, footer + 16, Files.size(nowhere), ByteOrder.BIG_ENDIAN);
    ContainerDamageTest.fixVhdChecksum(nowhere, footer);
    putLong(nowhere, 16, Files.size(nowhere), ByteOrder.BIG_ENDIAN); // and the copy at the start
    assertDamaged(nowhere, "does not point at a dynamic header");
  }

  @Test
  void vhdAbsurdBlockSizeTableSizeOrTableOffsetIsDamaged() throws IOException {
    long header = vhdHeader(vhd);
    for (long blockSize : new long[] {3 * MIB, 1L << 30, 256, 0}) {
      Path img = copy(vhd);
      putInt(img, header + 32, (int) blockSize, ByteOrder.BIG_ENDIAN);
      fixVhdHeader(img, header);
      assertDamaged(img, "block size is " + blockSize);
    }
    Path entries = copy(vhd);
    putInt(entries, header + 28, -1, ByteOrder.BIG_ENDIAN);
    fixVhdHeader(entries, header);
    assertDamaged(entries, "max table entries");
    Path few = copy(vhd);
    putInt(few, header + 28, 2, ByteOrder.BIG_ENDIAN);
    fixVhdHeader(few, header);
    assertDamaged(few, "max table entries is 2");
    Path table = copy(vhd);
    putLong(table, header + 16, Files.size(table) - 600, ByteOrder.BIG_ENDIAN);
    fixVhdHeader(table, header);
    assertDamaged(table, "table offset");
  }

  @Test
  void vhdBlocksPastTheEndOrOnTheTablesAreDamaged() throws IOException {
    long header = vhdHeader(vhd);
    long bat = getLong(vhd, header + 16, ByteOrder.BIG_ENDIAN);
    // Its bitmap inside the file, its data reaching past the end (before the footer).
    Path straddles = copy(vhd);
    putInt(straddles, bat, (int) ((Files.size(vhd) - 1024) / 512), ByteOrder.BIG_ENDIAN);
    assertDamaged(straddles, "past the end of the file");
    Path onHeader = copy(vhd);
    putInt(onHeader, bat, (int) (header / 512), ByteOrder.BIG_ENDIAN);
    assertDamaged(onHeader, "overlap");
    Path onTable = copy(vhd);
    putInt(onTable, bat, (int) (bat / 512), ByteOrder.BIG_ENDIAN);
    assertDamaged(onTable, "overlap");
    Path onFooterCopy = copy(vhd);
    putInt(onFooterCopy, bat, 0, ByteOrder.BIG_ENDIAN);
    assertDamaged(onFooterCopy, "overlap");
  }

  private static long vhdHeader(Path img) throws IOException {
    return getLong(img, Files.size(img) - 512 + 16, ByteOrder.BIG_ENDIAN);
  }

  /** The dynamic header's checksum made right again after an edit. */
  private static void fixVhdHeader(Path img, long header) throws IOException {
    putInt(img, header + 36, 0, ByteOrder.BIG_ENDIAN);
    int sum = 0;
    for (byte x : read(img, header, 1024)) {
      sum += x & 0xff;
    }
    putInt(img, header + 36, ~sum, ByteOrder.BIG_ENDIAN);
  }
}
