package dev.imprint.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.hash.Sha256;
import dev.imprint.engine.partition.Partition;
import dev.imprint.engine.partition.PartitionEntry;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.signing.Keys;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFormatTest {
  static final int CS = 64 << 10;

  @TempDir Path dir;

  /** Writes a 10-chunk image: data, zero run, unallocated, data (short last chunk). */
  static ImageMetadata write(Path out, List<byte[]> chunks, KeyPair signer) throws IOException {
    long size = 9L * CS + 1000;
    ImageHeader h =
        new ImageHeader(
            ImageHeader.MAJOR,
            ImageHeader.MINOR,
            size,
            512,
            CS,
            ImageKind.DEVICE,
            Codec.ZSTD,
            PartitionScheme.GPT,
            Instant.ofEpochMilli(1_700_000_000_000L),
            "test",
            "unit test disk",
            List.of(
                new Partition(
                    PartitionEntry.recorded(
                        1, CS, 6L * CS, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI"),
                    "vfat",
                    "FAT16 table")));
    Random r = new Random(42);
    try (ImageWriter w = ImageWriter.create(out, h)) {
      for (int i = 0; i < 10; i++) {
        long off = (long) i * CS;
        int len = (int) Math.min(CS, size - off);
        if (i >= 3 && i < 6) {
          w.zero(off, len);
          continue;
        }
        if (i == 6) {
          w.unallocated(off, len);
          continue;
        }
        byte[] b = new byte[len];
        for (int k = 0; k < len; k += 97) {
          b[k] = (byte) r.nextInt();
        }
        chunks.add(b);
        ByteBuffer src = ByteBuffer.allocateDirect(len).put(b).flip();
        Codec codec = i % 2 == 0 ? Codec.ZSTD : Codec.LZ4;
        ByteBuffer dst = ByteBuffer.allocateDirect(codec.maxCompressedLength(len));
        codec.compress(src, dst, 3);
        dst.flip();
        w.data(off, len, codec, Sha256.of(src), dst);
      }
      return w.finish(
          List.of(),
          signer == null ? null : d -> Keys.sign(signer.getPrivate(), signer.getPublic(), d));
    }
  }

  /** Counts reads so the "two reads from the end" promise is checked. */
  static final class CountingReader implements RandomAccessInput {
    final FileDisk inner;
    final AtomicInteger reads = new AtomicInteger();

    CountingReader(Path p) throws IOException {
      inner = FileDisk.open(p);
    }

    @Override
    public long size() {
      return inner.size();
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      reads.incrementAndGet();
      return inner.read(dst, position);
    }

    @Override
    public String description() {
      return inner.description();
    }

    @Override
    public void close() throws IOException {
      inner.close();
    }
  }

  @Test
  void randomAccessReadsBackWhatWasWritten() throws IOException {
    Path p = dir.resolve("a.imprint");
    List<byte[]> chunks = new ArrayList<>();
    ImageMetadata written = write(p, chunks, null);
    CountingReader reader = new CountingReader(p);
    try (Image image = Image.open(reader)) {
      // The 16-byte prefix, then the tail: the metadata of a small image is in that one read.
      assertEquals(2, reader.reads.get());
      ImageMetadata md = image.metadata();
      assertArrayEquals(written.digest(), md.digest());
      assertEquals(ImageKind.DEVICE, md.header().kind());
      assertEquals("EFI", md.header().partitions().get(0).label());
      assertEquals(5L * CS + 1000, md.bytesOf(RangeKind.DATA));
      assertEquals(3L * CS, md.bytesOf(RangeKind.ZERO));
      assertEquals(CS, md.bytesOf(RangeKind.UNALLOCATED));
      // Zero chunks 3..5 merge into one entry.
      assertEquals(8, md.index().size());
      int k = 0;
      for (int i = 0; i < md.index().size(); i++) {
        IndexEntry e = md.index().get(i);
        if (e.kind() != RangeKind.DATA) {
          continue;
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) e.logicalLength());
        Image.decode(e, i, image.readStored(i, null), out, "t");
        byte[] got = new byte[(int) e.logicalLength()];
        out.flip().get(got);
        assertArrayEquals(chunks.get(k++), got);
      }
    }
  }

  @Test
  void largeMetadataNeedsOneMoreRead() throws IOException {
    // Push the metadata out of the first tail read by making the index large: 20000 data chunks,
    // all the same chunk compressed once.
    Path p = dir.resolve("big.imprint");
    int n = 20000;
    ImageHeader h =
        new ImageHeader(
            1,
            0,
            (long) n * CS,
            512,
            CS,
            ImageKind.VOLUME,
            Codec.ZSTD,
            PartitionScheme.NONE,
            Instant.now(),
            "t",
            "t",
            List.of());
    ByteBuffer chunk = ByteBuffer.allocateDirect(CS);
    chunk.put(0, (byte) 1);
    byte[] sha = Sha256.of(chunk);
    ByteBuffer stored = ByteBuffer.allocateDirect(Codec.ZSTD.maxCompressedLength(CS));
    Codec.ZSTD.compress(chunk, stored, 3);
    stored.flip();
    try (ImageWriter w = ImageWriter.create(p, h)) {
      for (int i = 0; i < n; i++) {
        w.data((long) i * CS, CS, Codec.ZSTD, sha, stored.duplicate());
      }
      w.finish(List.of(), null);
    }
    CountingReader reader = new CountingReader(p);
    try (Image image = Image.open(reader)) {
      assertEquals(3, reader.reads.get());
      assertEquals(n, image.metadata().index().size());
    }
  }

  @Test
  void pipeReaderSeesTheSameImageAndChecksTheIndex() throws IOException {
    Path p = dir.resolve("s.imprint");
    List<byte[]> chunks = new ArrayList<>();
    ImageMetadata written = write(p, chunks, null);
    ImageStream s = new ImageStream(new ByteArrayInputStream(Files.readAllBytes(p)), "pipe");
    int records = 0;
    while (s.next(ByteBuffer::allocateDirect) != null) {
      records++;
    }
    assertEquals(10, records);
    assertArrayEquals(written.digest(), s.metadata().digest());
  }

  @Test
  void pipeReaderRejectsATruncatedStream() throws IOException {
    Path p = dir.resolve("t.imprint");
    write(p, new ArrayList<>(), null);
    byte[] all = Files.readAllBytes(p);
    byte[] cut = java.util.Arrays.copyOf(all, all.length - 30);
    ImageStream s = new ImageStream(new ByteArrayInputStream(cut), "pipe");
    IOException e =
        assertThrows(
            IOException.class,
            () -> {
              while (s.next(ByteBuffer::allocateDirect) != null) {}
            });
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void damagedIndexIsCaughtByTheDigest() throws IOException {
    Path p = dir.resolve("d.imprint");
    write(p, new ArrayList<>(), null);
    byte[] all = Files.readAllBytes(p);
    ByteBuffer t =
        ByteBuffer.wrap(all, all.length - Trailer.LENGTH, Trailer.LENGTH)
            .slice()
            .order(ByteOrder.LITTLE_ENDIAN);
    long meta = t.getLong(16);
    int hlen = t.getInt(12);
    all[(int) (meta + hlen + 8 + 20)] ^= 0x40;
    Files.write(p, all);
    ImageFormatException e =
        assertThrows(ImageFormatException.class, () -> Image.open(FileDisk.open(p)));
    assertTrue(e.getMessage().contains("index or header is damaged"), e.getMessage());
  }

  @Test
  void unknownMajorVersionIsRefusedByName() throws IOException {
    Path p = dir.resolve("v.imprint");
    write(p, new ArrayList<>(), null);
    byte[] all = Files.readAllBytes(p);
    all[8] = 2;
    Files.write(p, all);
    ImageFormatException e =
        assertThrows(ImageFormatException.class, () -> Image.open(FileDisk.open(p)));
    assertTrue(e.getMessage().contains("format version 2.0"), e.getMessage());
    assertTrue(e.getMessage().contains("upgrade imprint"), e.getMessage());
  }

  @Test
  void newerMinorVersionWithExtraHeaderFieldsIsRead() throws IOException {
    ImageHeader h =
        new ImageHeader(
            1,
            0,
            4096,
            512,
            CS,
            ImageKind.VOLUME,
            Codec.NONE,
            PartitionScheme.NONE,
            Instant.now(),
            "t",
            "src",
            List.of());
    byte[] base = h.encode();
    // A 1.1 header with 8 more bytes before the CRC.
    byte[] ext = new byte[base.length + 8];
    System.arraycopy(base, 0, ext, 0, base.length - 4);
    ByteBuffer b = ByteBuffer.wrap(ext).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(10, (short) 1).putInt(12, ext.length);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(ext, 0, ext.length - 4);
    b.putInt(ext.length - 4, (int) crc.getValue());
    ImageHeader read = ImageHeader.decode(ext, "t");
    assertEquals(1, read.minor());
    assertEquals("src", read.source());
  }

  @Test
  void signaturesVerifyAndSurviveLaterSigning() throws IOException {
    KeyPair a = Keys.generate();
    KeyPair b = Keys.generate();
    Path p = dir.resolve("sig.imprint");
    ImageMetadata md = write(p, new ArrayList<>(), a);
    assertTrue(Keys.verify(md.signatures().get(0), md.digest()));
    ImageSigning.append(p, md, Keys.sign(b.getPrivate(), b.getPublic(), md.digest()));
    try (Image image = Image.open(FileDisk.open(p))) {
      ImageMetadata again = image.metadata();
      assertArrayEquals(md.digest(), again.digest());
      assertEquals(2, again.signatures().size());
      for (Signature s : again.signatures()) {
        assertTrue(Keys.verify(s, again.digest()));
      }
      byte[] otherDigest = again.digest().clone();
      otherDigest[0] ^= 1;
      assertFalse(Keys.verify(again.signatures().get(0), otherDigest));
    }
    // The pipe reader takes the last trailer too.
    ImageStream s = new ImageStream(new ByteArrayInputStream(Files.readAllBytes(p)), "pipe");
    while (s.next(ByteBuffer::allocateDirect) != null) {}
    assertEquals(2, s.metadata().signatures().size());
  }
}
