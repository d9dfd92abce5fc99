package dev.imprint.engine.container.udif;

import com.dd.plist.NSArray;
import com.dd.plist.NSData;
import com.dd.plist.NSDictionary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.LZMAOutputStream;
import org.tukaani.xz.XZOutputStream;

/**
 * Builds small UDIF files from the format's description, for chunk types and checksums the real
 * fixtures lack: one blkx table per {@link #table} call, chunks stored back to back in the data
 * fork, XML property list, then the koly trailer.
 */
final class UdifBuilder {
  enum Sum {
    NONE(0, 0),
    CRC32(2, 32),
    MD5(4, 128),
    SHA1(5, 160),
    SHA256(6, 256);

    final int type;
    final int bits;

    Sum(int type, int bits) {
      this.type = type;
      this.bits = bits;
    }
  }

  /**
   * A chunk to store: its type, its sectors' content (zeros for zero fill and ignore), and the
   * sectors its entry declares (normally content / 512; fewer makes a decompression bomb).
   */
  record Part(int type, byte[] content, long sectors) {
    Part(int type, byte[] content) {
      this(type, content, content.length / 512);
    }
  }

  private final ByteArrayOutputStream fork = new ByteArrayOutputStream();
  private final List<byte[]> tables = new ArrayList<>();
  private final List<byte[]> tableSums = new ArrayList<>();
  private long sector;
  private Sum sum = Sum.CRC32;
  private java.util.function.Consumer<ByteBuffer> tableEdit = b -> {};
  private java.util.function.Consumer<ByteBuffer> kolyEdit = b -> {};

  /** Changes the next table's bytes after they are laid out (for damaged tables). */
  UdifBuilder editTable(java.util.function.Consumer<ByteBuffer> edit) {
    this.tableEdit = edit;
    return this;
  }

  /** Changes the trailer's bytes after they are laid out. */
  UdifBuilder editKoly(java.util.function.Consumer<ByteBuffer> edit) {
    this.kolyEdit = edit;
    return this;
  }

  private boolean zeroFillInSums = true;

  /** Whether table checksums count zero-fill chunks as zeros (true) or leave them out. */
  UdifBuilder zeroFillInSums(boolean in) {
    this.zeroFillInSums = in;
    return this;
  }

  private int bareLzma;

  /**
   * Stores LZMA chunks as bare .lzma (LZMA-alone) streams instead of .xz: with the size in their
   * header (1) or an end marker and the size unknown (-1).
   */
  UdifBuilder bareLzma(int how) {
    this.bareLzma = how;
    return this;
  }

  UdifBuilder checksums(Sum s) {
    this.sum = s;
    return this;
  }

  /** Adds a table covering the parts' sectors, after the previous table. */
  UdifBuilder table(Part... parts) throws IOException {
    long first = sector;
    long count = 0;
    List<long[]> entries = new ArrayList<>();
    UdifChecksum.Running run = sum == Sum.NONE ? null : checksum().start();
    entries.add(new long[] {Chunk.COMMENT, 0, 0, 0, 0});
    for (Part p : parts) {
      long sectors = p.sectors();
      long at = fork.size();
      byte[] stored =
          bareLzma != 0 && p.type() == Chunk.LZMA
              ? lzmaAlone(p.content(), bareLzma > 0)
              : encode(p.type(), p.content());
      fork.write(stored);
      entries.add(new long[] {p.type(), count, sectors, at, stored.length});
      if (run != null
          && p.type() != Chunk.IGNORE
          && (zeroFillInSums || p.type() != Chunk.ZERO_FILL)) {
        run.update(p.content(), 0, p.content().length);
      }
      count += sectors;
    }
    entries.add(new long[] {Chunk.TERMINATOR, count, 0, fork.size(), 0});
    byte[] value = run == null ? new byte[0] : run.finish();
    ByteBuffer b = ByteBuffer.allocate(BlockTable.HEADER + entries.size() * BlockTable.ENTRY);
    b.putInt(BlockTable.MAGIC).putInt(1).putLong(first).putLong(count).putLong(0);
    b.putInt(0).putInt(0);
    b.position(64);
    b.putInt(sum.type).putInt(sum.bits).put(value);
    b.position(200);
    b.putInt(entries.size());
    for (long[] e : entries) {
      b.putInt((int) e[0]).putInt(0).putLong(e[1]).putLong(e[2]).putLong(e[3]).putLong(e[4]);
    }
    tableEdit.accept(b);
    tableEdit = x -> {};
    tables.add(b.array());
    tableSums.add(value);
    sector += count;
    return this;
  }

  private UdifChecksum checksum() {
    return new UdifChecksum(sum.type, sum.bits, new byte[sum.bits / 8]);
  }

  static byte[] encode(int type, byte[] content) throws IOException {
    return switch (type) {
      case Chunk.RAW -> content;
      case Chunk.ZERO_FILL, Chunk.IGNORE -> new byte[0];
      case Chunk.ZLIB -> {
        Deflater d = new Deflater();
        d.setInput(content);
        d.finish();
        byte[] out = new byte[content.length + 1024];
        int n = d.deflate(out);
        d.end();
        yield java.util.Arrays.copyOf(out, n);
      }
      case Chunk.LZMA -> {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (XZOutputStream x = new XZOutputStream(o, new LZMA2Options(1))) {
          x.write(content);
        }
        yield o.toByteArray();
      }
      case Chunk.BZIP2 -> {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (var b =
            new org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream(o)) {
          b.write(content);
        }
        yield o.toByteArray();
      }
      case Chunk.ADC -> {
        // Literal runs only (0x80 | n - 1, then n bytes): valid ADC, if not a small one.
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (int at = 0; at < content.length; at += 128) {
          int n = Math.min(128, content.length - at);
          o.write(0x80 | (n - 1));
          o.write(content, at, n);
        }
        yield o.toByteArray();
      }
      case Chunk.LZFSE -> {
        // One uncompressed block (bvx-) and the end of stream (bvx$).
        ByteBuffer b =
            ByteBuffer.allocate(content.length + 12).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x2d787662).putInt(content.length).put(content).putInt(0x24787662);
        yield b.array();
      }
      default -> throw new IllegalArgumentException("builder cannot store " + Chunk.name(type));
    };
  }

  private static byte[] lzmaAlone(byte[] content, boolean sized) throws IOException {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    try (LZMAOutputStream x =
        new LZMAOutputStream(o, new LZMA2Options(1), sized ? content.length : -1)) {
      x.write(content);
    }
    return o.toByteArray();
  }

  /** The whole .dmg: data fork, property list, trailer. */
  byte[] build() throws IOException {
    NSArray blkx = new NSArray(tables.size());
    for (int i = 0; i < tables.size(); i++) {
      NSDictionary t = new NSDictionary();
      t.put("Attributes", "0x0050");
      t.put("CFName", "part " + i);
      t.put("Data", new NSData(tables.get(i)));
      t.put("ID", String.valueOf(i - 1));
      t.put("Name", "part " + i);
      blkx.setValue(i, t);
    }
    NSDictionary fork = new NSDictionary();
    fork.put("blkx", blkx);
    NSDictionary root = new NSDictionary();
    root.put("resource-fork", fork);
    byte[] xml = root.toXMLPropertyList().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] data = this.fork.toByteArray();

    ByteBuffer k = ByteBuffer.allocate(Koly.SIZE);
    k.putInt(Koly.MAGIC).putInt(4).putInt(Koly.SIZE).putInt(1);
    k.putLong(0).putLong(0).putLong(data.length).putLong(0).putLong(0);
    k.putInt(1).putInt(1);
    k.position(80);
    if (sum != Sum.NONE) {
      UdifChecksum.Running f = checksum().start();
      f.update(data, 0, data.length);
      k.putInt(sum.type).putInt(sum.bits).put(f.finish());
    }
    k.position(216);
    k.putLong(data.length).putLong(xml.length);
    k.position(352);
    if (sum != Sum.NONE) {
      UdifChecksum.Running m = checksum().start();
      for (byte[] v : tableSums) {
        m.update(v, 0, v.length);
      }
      k.putInt(sum.type).putInt(sum.bits).put(m.finish());
    }
    k.position(488);
    k.putInt(1).putLong(sector);
    kolyEdit.accept(k);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(data);
    out.write(xml);
    out.write(k.array());
    return out.toByteArray();
  }
}
