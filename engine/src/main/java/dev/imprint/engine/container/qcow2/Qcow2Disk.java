package dev.imprint.engine.container.qcow2;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.imprint.engine.container.BlockMap;
import dev.imprint.engine.container.BlockMappedDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/** The disk inside a qcow2 image; compressed clusters inflate to exactly one cluster each. */
final class Qcow2Disk extends BlockMappedDisk {
  enum Compression {
    ZLIB,
    ZSTD
  }

  private final int version;
  private final Compression compression;
  private final int snapshots;
  private final boolean dirty;
  private final long[] clusters;

  Qcow2Disk(
      ContainerFormat format,
      RandomAccessInput in,
      BlockMap map,
      int version,
      Compression compression,
      int snapshots,
      boolean dirty,
      long[] clusters) {
    super(format, in, map);
    this.version = version;
    this.compression = compression;
    this.snapshots = snapshots;
    this.dirty = dirty;
    this.clusters = clusters;
  }

  @Override
  public Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("version", Integer.toString(version));
    m.put("cluster size", binary(map.blockSize()));
    m.put(
        "compression",
        clusters[BlockMap.Kind.COMPRESSED.ordinal()] == 0
            ? "none used"
            : compression.name().toLowerCase(java.util.Locale.ROOT));
    m.put(
        "clusters",
        clusters[BlockMap.Kind.STORED.ordinal()]
            + " stored, "
            + clusters[BlockMap.Kind.COMPRESSED.ordinal()]
            + " compressed, "
            + clusters[BlockMap.Kind.ZERO.ordinal()]
            + " zero, "
            + clusters[BlockMap.Kind.UNALLOCATED.ordinal()]
            + " unallocated");
    m.put("checksums", "none (qcow2 keeps none; imagescan decodes every cluster)");
    if (snapshots != 0) {
      m.put("snapshots", Integer.toUnsignedString(snapshots) + " (not read: the current disk is)");
    }
    if (dirty) {
      m.put("dirty", "yes (refcounts may be stale; they are not needed to read it)");
    }
    return m;
  }

  @Override
  protected Decoder decoder() {
    return compression == Compression.ZSTD ? new ZstdDecoder() : new ZlibDecoder();
  }

  private ImageDamagedException undecodable(long diskOffset, String why) {
    return new ImageDamagedException(
        where()
            + ": the compressed cluster at disk offset "
            + diskOffset
            + " does not decode ("
            + why
            + "): the image is damaged (copy it again)");
  }

  /** Raw deflate, no zlib header; trailing bytes of the last sector are ignored, as qemu does. */
  private final class ZlibDecoder implements Decoder {
    private final Inflater inflater = new Inflater(true);

    @Override
    public void decode(byte[] src, int off, int len, byte[] out, long diskOffset)
        throws IOException {
      inflater.reset();
      inflater.setInput(src, off, len);
      int n = 0;
      try {
        while (n < out.length) {
          int got = inflater.inflate(out, n, out.length - n);
          n += got;
          if (got == 0 && (inflater.finished() || inflater.needsInput())) {
            break;
          }
        }
      } catch (DataFormatException e) {
        throw undecodable(diskOffset, "deflate: " + e.getMessage());
      }
      if (n < out.length) {
        throw undecodable(diskOffset, "it inflates to " + n + " bytes, not " + out.length);
      }
    }

    @Override
    public void close() {
      inflater.end();
    }
  }

  /** One zstd frame per cluster; what follows it in the last sector is ignored. */
  private final class ZstdDecoder implements Decoder {
    private final ZstdDecompressCtx ctx = new ZstdDecompressCtx();

    @Override
    public void decode(byte[] src, int off, int len, byte[] out, long diskOffset)
        throws IOException {
      int n;
      try {
        long frame = Zstd.findFrameCompressedSize(src, off, len);
        if (Zstd.isError(frame)) {
          throw undecodable(diskOffset, "zstd: " + Zstd.getErrorName(frame));
        }
        n = ctx.decompressByteArray(out, 0, out.length, src, off, (int) frame);
      } catch (ZstdException e) {
        throw undecodable(diskOffset, "zstd: " + e.getMessage());
      }
      if (n != out.length) {
        throw undecodable(diskOffset, "it decodes to " + n + " bytes, not " + out.length);
      }
    }

    @Override
    public void close() {
      ctx.close();
    }
  }
}
