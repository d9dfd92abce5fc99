package dev.imprint.engine.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usual bad inputs for each reader, made by editing what qemu-img wrote: each is one line that
 * names the problem, as damage ({@link ImageDamagedException}) or a refusal, found when opened
 * (tables) or when read (compressed data).
 */
public class ContainerDamageTest {
  private static final int CLUSTER = 64 << 10;

  @TempDir Path dir;
  private Path raw;

  @BeforeEach
  void rawDisk() throws IOException {
    Root.assumeCommands("qemu-img");
    raw = ForeignImages.raw(dir, 7);
  }

  // ---------------------------------------------------------------- qcow2

  @Test
  void qcow2TruncatedIsDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    truncate(img, Files.size(img) / 2);
    assertDamaged(img, "past the end of the file");
  }

  @Test
  void qcow2ClusterPastTheEndIsDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    long l2 = qcow2L2(img);
    putLong(img, l2, (1L << 63) | (Files.size(img) / CLUSTER + 4) * CLUSTER, ByteOrder.BIG_ENDIAN);
    assertDamaged(img, "past the end of the file");
  }

  @Test
  void qcow2TwoClustersInOnePlaceAreDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    long l2 = qcow2L2(img);
    putLong(img, l2 + 8 * 5, getLong(img, l2, ByteOrder.BIG_ENDIAN), ByteOrder.BIG_ENDIAN);
    assertDamaged(img, "overlap");
  }

  @Test
  void qcow2TableThatPointsAtItselfIsDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    long l2 = qcow2L2(img);
    // A data cluster stored where its own L2 table is: a cycle through the tables.
    putLong(img, l2, (1L << 63) | l2, ByteOrder.BIG_ENDIAN);
    assertDamaged(img, "overlap");
  }

  @Test
  void qcow2AbsurdSizesAreDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    putLong(img, 24, 1L << 60, ByteOrder.BIG_ENDIAN);
    assertDamaged(img, "64 PiB");
    Path img2 = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2_V2);
    putInt(img2, 36, -1, ByteOrder.BIG_ENDIAN); // l1_size of 4 G entries
    assertDamaged(img2, "l1_size");
    Path img3 = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2_ZLIB);
    putInt(img3, 20, 40, ByteOrder.BIG_ENDIAN); // cluster_bits
    assertDamaged(img3, "cluster_bits");
  }

  @Test
  void qcow2ReservedBitsAreDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    long l1 = getLong(img, 40, ByteOrder.BIG_ENDIAN);
    putLong(img, l1, getLong(img, l1, ByteOrder.BIG_ENDIAN) | 0x100, ByteOrder.BIG_ENDIAN);
    assertDamaged(img, "reserved bits");
  }

  @Test
  void qcow2CorruptCompressedClustersAreDamagedWhenRead() throws IOException {
    for (ForeignImages.Kind kind :
        new ForeignImages.Kind[] {ForeignImages.Kind.QCOW2_ZLIB, ForeignImages.Kind.QCOW2_ZSTD}) {
      Path img = ForeignImages.convert(raw, kind);
      long l2 = qcow2L2(img);
      long host = -1;
      for (int i = 0; i < 385 && host < 0; i++) {
        long e = getLong(img, l2 + 8L * i, ByteOrder.BIG_ENDIAN);
        if ((e & (1L << 62)) != 0) {
          host = e & ((1L << 54) - 1); // 64 KiB clusters: x = 54
        }
      }
      assertTrue(host > 0, "qemu-img compressed nothing");
      putBytes(img, host, new byte[16]);
      // The tables are sound: it opens, and the damage shows where the cluster is read.
      try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
        ImageDamagedException e =
            assertThrows(ImageDamagedException.class, () -> disk.scan(d -> {}));
        assertOneLine(e, "does not decode");
      }
    }
  }

  @Test
  void qcow2CompressedClusterThatInflatesBeyondAClusterStopsThere() throws IOException {
    // A deflate bomb: 64 MiB of zeros in a few KiB, in place of a cluster. Decoding stops at one
    // cluster, as qemu does, so it costs one cluster of memory, not 64 MiB.
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2_ZLIB);
    long l2 = qcow2L2(img);
    int index = -1;
    long e = 0;
    for (int i = 0; i < 385 && index < 0; i++) {
      e = getLong(img, l2 + 8L * i, ByteOrder.BIG_ENDIAN);
      if ((e & (1L << 62)) != 0) {
        index = i;
      }
    }
    long host = e & ((1L << 54) - 1);
    java.util.zip.Deflater d = new java.util.zip.Deflater(9, true);
    d.setInput(new byte[64 << 20]);
    d.finish();
    byte[] bomb = new byte[1 << 20];
    int n = d.deflate(bomb);
    d.end();
    assertTrue(n < 200_000, "bomb of " + n);
    putBytes(img, host, Arrays.copyOf(bomb, Math.min(n, 4096)));
    try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
      ByteBuffer b = ByteBuffer.allocate(CLUSTER);
      disk.read(b, (long) index * CLUSTER);
      assertEquals(CLUSTER, b.position());
    }
  }

  @Test
  void qcow2BackingFileEncryptionAndUnknownFeaturesAreRefused() throws IOException {
    Path base = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    Path overlay = dir.resolve("overlay.qcow2");
    Cmd.run(
        "qemu-img",
        "create",
        "-f",
        "qcow2",
        "-b",
        base.toString(),
        "-F",
        "qcow2",
        overlay.toString());
    assertRefused(overlay, "backing file");
    Path enc = dir.resolve("enc.qcow2");
    Cmd.run(
        "qemu-img",
        "create",
        "-f",
        "qcow2",
        "--object",
        "secret,id=s0,data=pw",
        "-o",
        "encrypt.format=luks,encrypt.key-secret=s0",
        enc.toString(),
        "1M");
    assertRefused(enc, "encrypted");
    Path sub = dir.resolve("sub.qcow2");
    Cmd.run("qemu-img", "create", "-f", "qcow2", "-o", "extended_l2=on", sub.toString(), "1M");
    assertRefused(sub, "extended L2");
    Path unknown = ForeignImages.convert(raw, ForeignImages.Kind.QCOW2);
    putLong(unknown, 72, 1L << 40, ByteOrder.BIG_ENDIAN);
    assertRefused(unknown, "incompatible features");
  }

  /** File offset of the first L2 table. */
  static long qcow2L2(Path img) throws IOException {
    long l1 = getLong(img, 40, ByteOrder.BIG_ENDIAN);
    return getLong(img, l1, ByteOrder.BIG_ENDIAN) & 0x00ff_ffff_ffff_fe00L;
  }

  // ---------------------------------------------------------------- VHD

  @Test
  void vhdTruncatedIsDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHD_DYNAMIC);
    truncate(img, Files.size(img) - 1000);
    assertDamaged(img, "truncated");
  }

  @Test
  void vhdFooterWithAFlippedByteIsDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHD_FIXED);
    long footer = Files.size(img) - 512;
    putBytes(img, footer + 40, new byte[] {0x55});
    assertDamaged(img, "checksum");
  }

  @Test
  void vhdBlockPastTheEndOrTwiceInOnePlaceIsDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHD_DYNAMIC);
    long bat = vhdBat(img);
    putInt(img, bat, 0x7fff_0000, ByteOrder.BIG_ENDIAN);
    assertDamaged(img, "past the end of the file");
    Path img2 = ForeignImages.convert(raw, ForeignImages.Kind.VHD_DYNAMIC);
    putInt(img2, bat + 4, getInt(img2, bat, ByteOrder.BIG_ENDIAN), ByteOrder.BIG_ENDIAN);
    assertDamaged(img2, "overlap");
  }

  @Test
  void vhdAbsurdSizeIsDamagedAndDifferencingIsRefused() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHD_DYNAMIC);
    long footer = Files.size(img) - 512;
    putLong(img, footer + 48, 1L << 60, ByteOrder.BIG_ENDIAN);
    fixVhdChecksum(img, footer);
    assertDamaged(img, "current size");
    Path diff = ForeignImages.convert(raw, ForeignImages.Kind.VHD_DYNAMIC);
    long f2 = Files.size(diff) - 512;
    putInt(diff, f2 + 60, 4, ByteOrder.BIG_ENDIAN);
    fixVhdChecksum(diff, f2);
    assertRefused(diff, "differencing");
  }

  static long vhdBat(Path img) throws IOException {
    long header = getLong(img, Files.size(img) - 512 + 16, ByteOrder.BIG_ENDIAN);
    return getLong(img, header + 16, ByteOrder.BIG_ENDIAN);
  }

  static void fixVhdChecksum(Path img, long footer) throws IOException {
    putInt(img, footer + 64, 0, ByteOrder.BIG_ENDIAN);
    byte[] b = read(img, footer, 512);
    int sum = 0;
    for (byte x : b) {
      sum += x & 0xff;
    }
    putInt(img, footer + 64, ~sum, ByteOrder.BIG_ENDIAN);
  }

  // ---------------------------------------------------------------- VHDX

  @Test
  void vhdxWithBothHeadersBrokenIsDamagedWithOneItStillOpens() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHDX);
    putBytes(img, (64 << 10) + 100, new byte[] {1});
    Containers.open(FileDisk.open(img)).orElseThrow().close(); // the other header serves
    putBytes(img, (128 << 10) + 100, new byte[] {1});
    assertDamaged(img, "neither of its two headers");
  }

  @Test
  void vhdxWithADirtyLogIsRefused() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHDX);
    for (long h : new long[] {64 << 10, 128 << 10}) {
      putBytes(img, h + 48, new byte[] {1, 2, 3, 4});
      fixCrc32c(img, h, 4096);
    }
    assertRefused(img, "replay");
  }

  @Test
  void vhdxBlockPastTheEndTwiceInOnePlaceOrPartialIsRejected() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHDX_FIXED);
    long bat = vhdxBat(img);
    long e0 = getLong(img, bat, ByteOrder.LITTLE_ENDIAN);
    putLong(img, bat, (1L << 40) << 20 | 6, ByteOrder.LITTLE_ENDIAN);
    assertDamaged(img, "past the end of the file");
    putLong(img, bat, e0, ByteOrder.LITTLE_ENDIAN);
    putLong(img, bat + 8, e0, ByteOrder.LITTLE_ENDIAN);
    assertDamaged(img, "overlap");
    putLong(img, bat + 8, e0 | 7, ByteOrder.LITTLE_ENDIAN);
    assertRefused(img, "differencing");
  }

  @Test
  void vhdxTruncatedIsDamaged() throws IOException {
    Path img = ForeignImages.convert(raw, ForeignImages.Kind.VHDX_FIXED);
    truncate(img, Files.size(img) / 2);
    assertDamaged(img, "past the end of the file");
  }

  public static long vhdxBat(Path img) throws IOException {
    byte[] bat = HexFormat.of().parseHex("6677c22d23f600429d64115e9bfd4a08");
    long table = 192 << 10;
    int count = getInt(img, table + 8, ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      if (Arrays.equals(read(img, table + 16 + 32L * i, 16), bat)) {
        return getLong(img, table + 16 + 32L * i + 16, ByteOrder.LITTLE_ENDIAN);
      }
    }
    throw new AssertionError("no BAT region");
  }

  static void fixCrc32c(Path img, long at, int length) throws IOException {
    putInt(img, at + 4, 0, ByteOrder.LITTLE_ENDIAN);
    CRC32C crc = new CRC32C();
    crc.update(read(img, at, length));
    putInt(img, at + 4, (int) crc.getValue(), ByteOrder.LITTLE_ENDIAN);
  }

  // ---------------------------------------------------------------- helpers

  static void assertDamaged(Path img, String says) throws IOException {
    ImageDamagedException e =
        assertThrows(
            ImageDamagedException.class,
            () -> Containers.open(FileDisk.open(img)).orElseThrow().close());
    assertOneLine(e, says);
  }

  static void assertRefused(Path img, String says) {
    ContainerRefusedException e =
        assertThrows(
            ContainerRefusedException.class,
            () -> Containers.open(FileDisk.open(img)).orElseThrow().close());
    assertOneLine(e, says);
  }

  static void assertOneLine(Exception e, String says) {
    assertTrue(e.getMessage().contains(says), e::getMessage);
    assertFalse(e.getMessage().contains("\n"), e::getMessage);
  }

  static void truncate(Path p, long size) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(size);
    }
  }

  public static byte[] read(Path p, long at, int n) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
      byte[] b = new byte[n];
      f.seek(at);
      f.readFully(b);
      return b;
    }
  }

  public static void putBytes(Path p, long at, byte[] b) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.seek(at);
      f.write(b);
    }
  }

  public static long getLong(Path p, long at, ByteOrder order) throws IOException {
    return ByteBuffer.wrap(read(p, at, 8)).order(order).getLong();
  }

  static int getInt(Path p, long at, ByteOrder order) throws IOException {
    return ByteBuffer.wrap(read(p, at, 4)).order(order).getInt();
  }

  public static void putLong(Path p, long at, long v, ByteOrder order) throws IOException {
    putBytes(p, at, ByteBuffer.allocate(8).order(order).putLong(v).array());
  }

  static void putInt(Path p, long at, int v, ByteOrder order) throws IOException {
    putBytes(p, at, ByteBuffer.allocate(4).order(order).putInt(v).array());
  }
}
