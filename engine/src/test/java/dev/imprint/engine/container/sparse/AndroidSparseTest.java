package dev.imprint.engine.container.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerExtent;
import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.source.SequentialDisk;
import dev.imprint.engine.source.Sources;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AndroidSparseTest {
  private static final int MIB = 1 << 20;
  private static final AndroidSparse FORMAT = new AndroidSparse();

  @TempDir Path dir;

  /** 8 MiB: random data, a written zero MiB, a hole, a 0xFF-filled MiB, a pattern MiB, data. */
  private byte[] rawDisk(Path raw) throws IOException {
    byte[] disk = new byte[8 * MIB];
    SplittableRandom rnd = new SplittableRandom(11);
    byte[] r = new byte[2 * MIB];
    rnd.nextBytes(r);
    System.arraycopy(r, 0, disk, 0, 2 * MIB);
    Arrays.fill(disk, 4 * MIB, 5 * MIB, (byte) 0xff);
    for (int i = 5 * MIB; i < 6 * MIB; i += 4) {
      disk[i] = 1;
      disk[i + 1] = 2;
      disk[i + 2] = 3;
      disk[i + 3] = 4;
    }
    rnd.nextBytes(r);
    System.arraycopy(r, 0, disk, 6 * MIB, MIB + 12_288);
    try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
      f.setLength(disk.length);
      f.write(disk, 0, 2 * MIB);
      f.seek(2 * MIB);
      f.write(new byte[MIB]); // written zeros: a fill of 0
      // 3..4 MiB stays a hole: don't care
      f.seek(4 * MIB);
      f.write(disk, 4 * MIB, 4 * MIB);
    }
    return disk;
  }

  @Test
  void decodesWhatImg2simgWrote() throws IOException {
    Root.assumeCommands("img2simg", "simg2img");
    Path raw = dir.resolve("disk.raw");
    byte[] disk = rawDisk(raw);
    Path simg = dir.resolve("disk.simg");
    Cmd.run("img2simg", raw.toString(), simg.toString());
    try (FileDisk file = FileDisk.open(simg)) {
      assertTrue(FORMAT.recognizes(file));
      ContainerDisk d = FORMAT.open(file);
      assertEquals(disk.length, d.size());
      assertArrayEquals(disk, readAll(d, 1_000_003));
      // A read at an odd offset across chunk boundaries.
      ByteBuffer b = ByteBuffer.allocate(3 * MIB);
      assertEquals(3 * MIB, d.read(b, 4 * MIB - 7));
      assertArrayEquals(Arrays.copyOfRange(disk, 4 * MIB - 7, 7 * MIB - 7), b.array());
      List<ContainerExtent> ex = d.extents();
      assertEquals(0, ex.get(0).offset());
      assertEquals(d.size(), ex.get(ex.size() - 1).end());
      // img2simg stores holes and zeros alike as a fill of 0 (it writes no don't-care chunks).
      assertTrue(kindAt(ex, 3 * MIB) == ContainerExtent.Kind.ZERO, ex.toString());
      assertTrue(kindAt(ex, 2 * MIB) == ContainerExtent.Kind.ZERO, ex.toString());
      assertTrue(kindAt(ex, 4 * MIB) == ContainerExtent.Kind.DATA, ex.toString());
      d.scan(x -> {});
      assertEquals("1.0", d.describe().get("version"));
    }
    // Through a pipe: decoded front to back.
    try (DiskSource d = Sources.openStream("a pipe", Files.newInputStream(simg))) {
      assertInstanceOf(SequentialDisk.class, d);
      assertArrayEquals(disk, readStream((SequentialDisk) d));
    }
    // simg2img agrees: what we decode is what Android's own tool decodes.
    Path back = dir.resolve("back.raw");
    Cmd.run("simg2img", simg.toString(), back.toString());
    assertArrayEquals(disk, Files.readAllBytes(back));
  }

  private static byte[] readStream(SequentialDisk d) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer b = ByteBuffer.allocate(1_000_003);
    int n;
    while ((n = d.readFully(b.clear())) > 0) {
      out.write(b.array(), 0, n);
    }
    return out.toByteArray();
  }

  private static ContainerExtent.Kind kindAt(List<ContainerExtent> ex, long at) {
    for (ContainerExtent e : ex) {
      if (e.offset() <= at && at < e.end()) {
        return e.kind();
      }
    }
    throw new AssertionError("no extent at " + at);
  }

  private static byte[] readAll(ContainerDisk d, int step) throws IOException {
    byte[] out = new byte[(int) d.size()];
    for (long at = 0; at < d.size(); at += step) {
      ByteBuffer b = ByteBuffer.wrap(out, (int) at, (int) Math.min(step, d.size() - at)).slice();
      assertEquals(b.capacity(), d.read(b, at));
    }
    return out;
  }

  /** A sparse image written chunk by chunk, to test what img2simg never writes (CRC chunks). */
  private static final class Writer {
    final int blockSize = 4096;
    final List<byte[]> chunks = new ArrayList<>();
    final CRC32 crc = new CRC32();
    long blocks;
    int imageCrc;

    Writer raw(byte[] data) {
      chunks.add(chunk(AndroidSparse.RAW, data.length / blockSize, data));
      crc.update(data);
      blocks += data.length / blockSize;
      return this;
    }

    Writer fill(int pattern, int n) {
      byte[] p = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(pattern).array();
      chunks.add(chunk(AndroidSparse.FILL, n, p));
      for (int i = 0; i < n * blockSize / 4; i++) {
        crc.update(p);
      }
      blocks += n;
      return this;
    }

    Writer dontCare(int n) {
      chunks.add(chunk(AndroidSparse.DONT_CARE, n, new byte[0]));
      crc.update(new byte[n * blockSize]);
      blocks += n;
      return this;
    }

    Writer crc() {
      byte[] v =
          ByteBuffer.allocate(4)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putInt((int) crc.getValue())
              .array();
      chunks.add(chunk(AndroidSparse.CRC32, 0, v));
      return this;
    }

    Writer withImageCrc() {
      imageCrc = (int) crc.getValue();
      return this;
    }

    byte[] chunk(int type, int n, byte[] payload) {
      ByteBuffer h = ByteBuffer.allocate(12 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
      h.putShort((short) type).putShort((short) 0).putInt(n).putInt(12 + payload.length);
      return h.put(payload).array();
    }

    byte[] bytes() {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer h = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
      h.putInt(AndroidSparse.MAGIC).putShort((short) 1).putShort((short) 0);
      h.putShort((short) 28).putShort((short) 12).putInt(blockSize);
      h.putInt((int) blocks).putInt(chunks.size()).putInt(imageCrc);
      out.writeBytes(h.array());
      chunks.forEach(out::writeBytes);
      return out.toByteArray();
    }
  }

  private Path write(byte[] bytes) throws IOException {
    Path p = Files.createTempFile(dir, "s", ".simg");
    Files.write(p, bytes);
    return p;
  }

  private ContainerDisk open(Path p) throws IOException {
    return FORMAT.open(FileDisk.open(p));
  }

  private static byte[] data(int blocks, long seed) {
    byte[] b = new byte[blocks * 4096];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  @Test
  void crcChunksAndTheImageCrcAreChecked() throws IOException {
    Writer w =
        new Writer().raw(data(3, 1)).crc().fill(0xa5a5a5a5, 2).dontCare(4).crc().raw(data(1, 2));
    byte[] good = w.withImageCrc().bytes();
    try (ContainerDisk d = open(write(good))) {
      d.scan(x -> {});
      assertEquals("2 raw, 1 fill, 1 don't care, 2 CRC32", d.describe().get("chunks"));
      assertEquals(
          List.of(
              new ContainerExtent(0, 5 * 4096, ContainerExtent.Kind.DATA),
              new ContainerExtent(5 * 4096, 4 * 4096, ContainerExtent.Kind.UNALLOCATED),
              new ContainerExtent(9 * 4096, 4096, ContainerExtent.Kind.DATA)),
          d.extents());
      ByteBuffer b = ByteBuffer.allocate(4096 * 3);
      d.read(b, 4 * 4096);
      assertEquals((byte) 0xa5, b.get(0));
      assertEquals(0, b.get(4096));
      assertEquals(0, b.get(4096 * 2));
    }
    byte[] expected;
    try (ContainerDisk d = open(write(good))) {
      expected = readAll(d, 4096);
    }
    try (DiskSource d = Sources.openStream("a pipe", new ByteArrayInputStream(good))) {
      assertArrayEquals(expected, readStream((SequentialDisk) d));
    }
    // A flipped byte in the first raw chunk: the first CRC32 chunk names it.
    byte[] bad = good.clone();
    bad[28 + 12 + 100] ^= 1;
    try (DiskSource d = Sources.openStream("a pipe", new ByteArrayInputStream(bad))) {
      ImageDamagedException e =
          assertThrows(ImageDamagedException.class, () -> readStream((SequentialDisk) d));
      assertTrue(e.getMessage().contains("chunk 1 (at byte 12328) records CRC32"), e.getMessage());
    }
    try (ContainerDisk d = open(write(bad))) {
      ImageDamagedException e = assertThrows(ImageDamagedException.class, () -> d.scan(x -> {}));
      assertTrue(e.getMessage().contains("CRC32 chunk 0"), e.getMessage());
    }
    // A flipped byte in the last raw chunk: only the header's image CRC32 covers it.
    bad = good.clone();
    bad[bad.length - 5] ^= 1;
    try (ContainerDisk d = open(write(bad))) {
      ImageDamagedException e = assertThrows(ImageDamagedException.class, () -> d.scan(x -> {}));
      assertTrue(e.getMessage().contains("image CRC32"), e.getMessage());
    }
  }

  @Test
  void badInputsAreOneClearLine() throws IOException {
    byte[] good = new Writer().raw(data(2, 3)).fill(7, 1).dontCare(1).bytes();
    try (ContainerDisk d = open(write(good))) {
      assertEquals(4 * 4096, d.size());
    }
    // Truncated inside the raw data.
    assertDamaged(Arrays.copyOf(good, 28 + 12 + 5000), "past the file's end");
    // Truncated inside the chunk table (a chunk header cut short).
    assertDamaged(Arrays.copyOf(good, good.length - 6), "truncated");
    // Absurd chunk count.
    byte[] b = good.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(20, 1 << 30);
    assertDamaged(b, "chunk count");
    // The header claims more blocks than the chunks cover.
    b = good.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 5);
    assertDamaged(b, "differs from the 5 blocks");
    // Chunks past the disk's end.
    b = good.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 2);
    assertDamaged(b, "past the disk's 2 blocks");
    // A flipped chunk type.
    b = good.clone();
    b[28] ^= 0x10;
    assertDamaged(b, "type");
    // A chunk size that disagrees with its block count.
    b = good.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(28 + 4, 3);
    assertDamaged(b, "total size");
    // Absurd block size.
    b = good.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 4097);
    assertDamaged(b, "block size");
    // A newer major version is refused, not misread.
    b = good.clone();
    b[4] = 2;
    Path p = write(b);
    ContainerRefusedException r = assertThrows(ContainerRefusedException.class, () -> open(p));
    assertTrue(r.getMessage().contains("version 2.0"), r.getMessage());
    // Too short to be one, or another magic: not recognised, and never an exception.
    try (FileDisk f = FileDisk.open(write(Arrays.copyOf(good, 20)))) {
      assertFalse(FORMAT.recognizes(f));
    }
    b = good.clone();
    b[0] ^= 1;
    try (FileDisk f = FileDisk.open(write(b))) {
      assertFalse(FORMAT.recognizes(f));
    }
  }

  private void assertDamaged(byte[] bytes, String says) throws IOException {
    Path p = write(bytes);
    ImageDamagedException e = assertThrows(ImageDamagedException.class, () -> open(p));
    assertTrue(e.getMessage().contains(says), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }
}
