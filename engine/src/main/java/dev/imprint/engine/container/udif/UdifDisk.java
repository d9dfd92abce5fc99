package dev.imprint.engine.container.udif;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerExtent;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.TruncatedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/**
 * The disk a UDIF holds. Its chunks, from every blkx table, are kept in disk order (a gap between
 * two entries of one table as zero fill); a read finds the first chunk by binary search and decodes
 * each chunk it touches once, reading compressed chunks that lie back to back in the file with one
 * read of the input (one range request over HTTP). Raw chunks are read straight into the caller's
 * buffer. Only the last few chunks decoded for part of a read are kept ({@link Recent}), so
 * neighbouring reads that split a chunk decode it once.
 */
final class UdifDisk implements ContainerDisk {
  /**
   * Compressed chunks lying back to back in the file are fetched together up to this many bytes.
   */
  private static final int MAX_SPAN = 16 << 20;

  private final ContainerFormat format;
  private final RandomAccessInput in;
  private final Koly koly;
  private final List<BlockTable> tables;
  private final Chunk[] chunks;
  private final long[] starts;
  private final long size;
  private final List<ContainerExtent> extents;
  private final Recent recent = new Recent();

  UdifDisk(
      ContainerFormat format,
      RandomAccessInput in,
      Koly koly,
      List<BlockTable> tables,
      Chunk[] chunks) {
    this.format = format;
    this.in = in;
    this.koly = koly;
    this.tables = tables;
    this.chunks = chunks;
    this.size = koly.sectorCount() * BlockTable.SECTOR;
    this.starts = new long[chunks.length];
    for (int i = 0; i < chunks.length; i++) {
      starts[i] = chunks[i].diskOffset();
    }
    this.extents = mergeExtents(chunks);
  }

  private static List<ContainerExtent> mergeExtents(Chunk[] chunks) {
    List<ContainerExtent> out = new ArrayList<>();
    for (Chunk c : chunks) {
      ContainerExtent last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.kind() == c.kind() && last.end() == c.diskOffset()) {
        out.set(
            out.size() - 1,
            new ContainerExtent(last.offset(), last.length() + c.length(), c.kind()));
      } else {
        out.add(new ContainerExtent(c.diskOffset(), c.length(), c.kind()));
      }
    }
    return List.copyOf(out);
  }

  @Override
  public ContainerFormat format() {
    return format;
  }

  @Override
  public List<ContainerExtent> extents() {
    return extents;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public String description() {
    return in.description();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  @Override
  public Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("version", "UDIF " + koly.version() + ", variant " + koly.imageVariant());
    m.put("disk", size + " bytes (" + koly.sectorCount() + " sectors of 512)");
    m.put("data fork", koly.dataForkLength() + " bytes at " + koly.dataForkOffset());
    StringBuilder parts = new StringBuilder();
    for (BlockTable t : tables) {
      if (parts.length() > 0) {
        parts.append("; ");
      }
      parts.append(t.name().isEmpty() ? "blkx " + t.index() : t.name());
    }
    m.put("blkx tables", tables.size() + (parts.length() > 0 ? ": " + parts : ""));
    TreeMap<String, Integer> kinds = new TreeMap<>();
    for (Chunk c : chunks) {
      if (c.table() >= 0) {
        kinds.merge(Chunk.name(c.type()), 1, Integer::sum);
      }
    }
    StringBuilder ck = new StringBuilder();
    kinds.forEach((k, v) -> ck.append(ck.length() > 0 ? ", " : "").append(k).append(' ').append(v));
    m.put("chunks", ck.toString());
    m.put(
        "checksums",
        "data fork "
            + koly.dataForkChecksum().label()
            + ", master "
            + koly.masterChecksum().label()
            + ", blkx "
            + tableChecksumLabels());
    return m;
  }

  private String tableChecksumLabels() {
    TreeMap<String, Integer> labels = new TreeMap<>();
    for (BlockTable t : tables) {
      labels.merge(t.checksum().label(), 1, Integer::sum);
    }
    return labels.size() == 1 ? labels.firstKey() : labels.toString();
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    if (position < 0 || position >= size || !dst.hasRemaining()) {
      return 0;
    }
    int want = (int) Math.min(dst.remaining(), size - position);
    int base = dst.position();
    long end = position + want;
    int i = find(position);
    while (i < chunks.length && chunks[i].diskOffset() < end) {
      Chunk c = chunks[i];
      long from = Math.max(position, c.diskOffset());
      int len = (int) (Math.min(end, c.end()) - from);
      int at = base + (int) (from - position);
      if (c.type() == Chunk.RAW) {
        long stored = c.storedOffset() + (from - c.diskOffset());
        readStored(dst.duplicate().limit(at + len).position(at), stored, c);
        i++;
      } else if (!c.stored()) {
        zero(dst, at, len);
        i++;
      } else if (len < c.length() && recent.copy(i, dst, at, (int) (from - c.diskOffset()), len)) {
        i++;
      } else {
        i = decodeSpan(dst, position, end, base, i);
      }
    }
    checkWholeTables(dst, base, position, end);
    dst.position(base + want);
    return want;
  }

  /**
   * Checks the checksum of every blkx table this read covered whole: the bytes are in {@code dst}
   * already, so it costs one pass of CRC-32 (or the table's digest) over them, and a restore whose
   * reads span whole partitions (small ones, or large reads) has them checked on the way.
   */
  private void checkWholeTables(ByteBuffer dst, int base, long position, long end)
      throws ImageDamagedException {
    for (BlockTable t : tables) {
      long from = t.firstSector() * BlockTable.SECTOR;
      long to = from + t.sectorCount() * BlockTable.SECTOR;
      if (from < position || to > end || !t.checksum().checkable()) {
        continue;
      }
      TableSum sum = new TableSum(t);
      for (Chunk c : t.chunks()) {
        if (c.type() == Chunk.ZERO_FILL) {
          sum.zeros(c.length());
        } else if (c.type() != Chunk.IGNORE) {
          int at = base + (int) (c.diskOffset() - position);
          sum.data(dst.duplicate().limit(at + (int) c.length()).position(at));
        }
      }
      sum.check();
    }
  }

  /**
   * A blkx table's checksum as it is computed, over its chunks in order: raw and compressed ones
   * decoded, ignore chunks not at all. Whether hdiutil counts zero-fill chunks (as zeros) is not
   * documented and no fixture holds one, so a table with zero-fill chunks matches either way.
   */
  private final class TableSum {
    private final BlockTable table;
    private final UdifChecksum.Running withZeros;
    private final UdifChecksum.Running withoutZeros;

    TableSum(BlockTable t) {
      this.table = t;
      this.withZeros = t.checksum().start();
      this.withoutZeros =
          t.chunks().stream().anyMatch(c -> c.type() == Chunk.ZERO_FILL)
              ? t.checksum().start()
              : null;
    }

    void data(ByteBuffer b) {
      if (withoutZeros != null) {
        withoutZeros.update(b.duplicate());
      }
      withZeros.update(b);
    }

    void zeros(long n) {
      withZeros.updateZeros(n);
    }

    void check() throws ImageDamagedException {
      byte[] got = withZeros.finish();
      if (table.checksum().matches(got)
          || (withoutZeros != null && table.checksum().matches(withoutZeros.finish()))) {
        return;
      }
      throw ImageDamagedException.field(
          tableWhere(table),
          table.checksum().label(),
          HexFormat.of().formatHex(got),
          "differs from the " + table.checksum().hex() + " its table records");
    }
  }

  private String tableWhere(BlockTable t) {
    return in.description()
        + " blkx "
        + t.index()
        + (t.name().isEmpty() ? "" : " (" + t.name() + ")");
  }

  /** Decodes the compressed chunks from {@code i} that lie back to back in the file, one read. */
  private int decodeSpan(ByteBuffer dst, long position, long end, int base, int i)
      throws IOException {
    long spanStart = chunks[i].storedOffset();
    long spanEnd = chunks[i].storedEnd();
    int j = i + 1;
    while (j < chunks.length
        && chunks[j].diskOffset() < end
        && Chunk.compressed(chunks[j].type())
        && chunks[j].storedOffset() == spanEnd
        && spanEnd + chunks[j].storedLength() - spanStart <= MAX_SPAN) {
      spanEnd += chunks[j].storedLength();
      j++;
    }
    byte[] span = new byte[(int) (spanEnd - spanStart)];
    readStored(ByteBuffer.wrap(span), spanStart, chunks[i]);
    for (int k = i; k < j; k++) {
      Chunk c = chunks[k];
      int srcOff = (int) (c.storedOffset() - spanStart);
      long from = Math.max(position, c.diskOffset());
      int len = (int) (Math.min(end, c.end()) - from);
      int at = base + (int) (from - position);
      if (dst.hasArray() && len == c.length()) {
        // The whole chunk is wanted: decode straight into the caller's array.
        ChunkDecoder.decode(c, span, srcOff, dst.array(), dst.arrayOffset() + at, where(c));
      } else {
        byte[] out = new byte[(int) c.length()];
        ChunkDecoder.decode(c, span, srcOff, out, 0, where(c));
        dst.put(at, out, (int) (from - c.diskOffset()), len);
        recent.put(k, out);
      }
    }
    return j;
  }

  private void readStored(ByteBuffer into, long stored, Chunk c) throws IOException {
    try {
      in.readFully(into, stored);
    } catch (TruncatedException e) {
      throw ChunkDecoder.damaged(
          c, where(c), "cannot be read: " + e.message("the file is truncated"));
    }
  }

  private String where(Chunk c) {
    if (c.table() < 0) {
      return in.description();
    }
    BlockTable t = tables.get(c.table());
    return in.description()
        + " blkx "
        + t.index()
        + (t.name().isEmpty() ? "" : " (" + t.name() + ")");
  }

  private static void zero(ByteBuffer dst, int at, int len) {
    if (dst.hasArray()) {
      Arrays.fill(dst.array(), dst.arrayOffset() + at, dst.arrayOffset() + at + len, (byte) 0);
      return;
    }
    ByteBuffer z = ByteBuffer.allocate(Math.min(len, 1 << 16));
    for (int done = 0; done < len; ) {
      int n = Math.min(z.capacity(), len - done);
      dst.put(at + done, z, 0, n);
      done += n;
    }
  }

  /**
   * The last few chunks decoded for a read that wanted only part of them. A restore reads only what
   * filesystems use, so one compressed chunk is often split between neighbouring reads; this
   * decodes it once for them. Bounded: {@link #ENTRIES} chunks of at most {@link #LARGEST} bytes.
   */
  private static final class Recent {
    static final int ENTRIES = 8;
    static final int LARGEST = 4 << 20;

    private final LinkedHashMap<Integer, byte[]> map =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<Integer, byte[]> eldest) {
            return size() > ENTRIES;
          }
        };

    synchronized void put(int chunk, byte[] decoded) {
      if (decoded.length <= LARGEST) {
        map.put(chunk, decoded);
      }
    }

    /** Copies {@code len} bytes of chunk {@code chunk} from {@code from} into dst, if kept. */
    boolean copy(int chunk, ByteBuffer dst, int at, int from, int len) {
      byte[] b;
      synchronized (this) {
        b = map.get(chunk);
      }
      if (b == null) {
        return false;
      }
      dst.put(at, b, from, len);
      return true;
    }
  }

  /** Index of the chunk holding {@code position}. */
  private int find(long position) {
    int i = Arrays.binarySearch(starts, position);
    return i >= 0 ? i : -i - 2;
  }

  /**
   * Checks the data fork's checksum over its stored bytes, then every blkx table's over its decoded
   * chunks (raw, compressed and zero fill, in order; ignored chunks take no part), reading the
   * whole container.
   */
  @Override
  public void scan(LongConsumer progress) throws IOException {
    UdifChecksum fork = koly.dataForkChecksum();
    if (fork.checkable()) {
      UdifChecksum.Running run = fork.start();
      ByteBuffer buf = ByteBuffer.allocate(4 << 20);
      for (long off = 0; off < koly.dataForkLength(); ) {
        buf.clear().limit((int) Math.min(buf.capacity(), koly.dataForkLength() - off));
        try {
          in.readFully(buf, koly.dataForkOffset() + off);
        } catch (TruncatedException e) {
          throw new ImageDamagedException(e.message("the image is damaged (copy it again)"));
        }
        buf.flip();
        run.update(buf);
        off += buf.limit();
      }
      byte[] got = run.finish();
      if (!fork.matches(got)) {
        throw ImageDamagedException.field(
            in.description(),
            "data fork " + fork.label(),
            HexFormat.of().formatHex(got),
            "differs from the " + fork.hex() + " in the trailer");
      }
    }
    long done = 0;
    for (BlockTable t : tables) {
      TableSum sum = t.checksum().checkable() ? new TableSum(t) : null;
      for (Chunk c : t.chunks()) {
        if (sum != null && c.type() == Chunk.ZERO_FILL) {
          sum.zeros(c.length());
        } else if (c.stored()) {
          for (long off = 0; off < c.length(); ) {
            // Whole chunks (≤ 64 MiB) at once for compressed ones; raw ones in 4 MiB pieces.
            int n =
                (int) (c.type() == Chunk.RAW ? Math.min(4 << 20, c.length() - off) : c.length());
            ByteBuffer b = ByteBuffer.allocate(n);
            read(b, c.diskOffset() + off);
            if (sum != null) {
              sum.data(b.flip());
            }
            off += n;
            progress.accept(done + off);
          }
        }
        done += c.length();
        progress.accept(done);
      }
      if (sum != null) {
        sum.check();
      }
    }
    progress.accept(size);
  }
}
