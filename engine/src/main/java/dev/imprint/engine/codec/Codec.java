package dev.imprint.engine.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FastDecompressor;

/**
 * How one chunk's stored bytes are compressed. Each stored chunk is an independent frame, which is
 * what lets chunks be decompressed side by side and fetched in any order.
 */
public enum Codec {
  NONE(0),
  ZSTD(1),
  LZ4(2);

  /**
   * Loaded on first use: lz4-java unpacks and loads a native library, which zstd images never need.
   */
  private static final class Lz4 {
    static final LZ4Factory F = LZ4Factory.fastestInstance();
    static final LZ4Compressor C = F.fastCompressor();
    static final LZ4FastDecompressor D = F.fastDecompressor();
  }

  /**
   * One zstd context per thread and level: a context holds megabytes of tables, and allocating one
   * per chunk costs as much as compressing a small chunk.
   */
  private static final ThreadLocal<ZstdCompressCtx[]> ZSTD_C =
      ThreadLocal.withInitial(() -> new ZstdCompressCtx[23]);

  private static final ThreadLocal<ZstdDecompressCtx> ZSTD_D =
      ThreadLocal.withInitial(ZstdDecompressCtx::new);

  public final int id;

  Codec(int id) {
    this.id = id;
  }

  public static Codec of(int id) throws CodecException {
    for (Codec c : values()) {
      if (c.id == id) {
        return c;
      }
    }
    throw new CodecException("unknown codec id " + id);
  }

  /** Upper bound of the compressed size of {@code n} bytes. */
  public int maxCompressedLength(int n) {
    return switch (this) {
      case NONE -> n;
      case ZSTD -> (int) Zstd.compressBound(n);
      case LZ4 -> Lz4.C.maxCompressedLength(n);
    };
  }

  /**
   * Compresses src (position..limit) into dst (position..limit), both direct buffers. Advances
   * dst's position; src is left as it was.
   *
   * @return compressed length
   */
  public int compress(ByteBuffer src, ByteBuffer dst, int level) throws CodecException {
    int n = src.remaining();
    switch (this) {
      case NONE -> {
        dst.put(src.duplicate());
        return n;
      }
      case ZSTD -> {
        int written;
        try {
          ZstdCompressCtx[] ctxs = ZSTD_C.get();
          ZstdCompressCtx ctx = ctxs[level];
          if (ctx == null) {
            ctx = new ZstdCompressCtx().setLevel(level).setChecksum(false);
            ctxs[level] = ctx;
          }
          written =
              ctx.compressDirectByteBuffer(
                  dst, dst.position(), dst.remaining(), src, src.position(), n);
          dst.position(dst.position() + written);
        } catch (RuntimeException e) {
          throw new CodecException("zstd compression failed: " + e.getMessage());
        }
        return written;
      }
      case LZ4 -> {
        int written = Lz4.C.compress(src, src.position(), n, dst, dst.position(), dst.remaining());
        dst.position(dst.position() + written);
        return written;
      }
      default -> throw new IllegalStateException();
    }
  }

  /**
   * Decompresses src (position..limit) into dst, which must have exactly {@code expected} bytes
   * remaining. Advances dst's position by expected.
   */
  public void decompress(ByteBuffer src, ByteBuffer dst, int expected) throws CodecException {
    int before = dst.position();
    try {
      switch (this) {
        case NONE -> {
          if (src.remaining() != expected) {
            throw new CodecException(
                "stored length " + src.remaining() + " differs from length " + expected);
          }
          dst.put(src.duplicate());
        }
        case ZSTD -> {
          int n =
              ZSTD_D
                  .get()
                  .decompressDirectByteBuffer(
                      dst, before, expected, src, src.position(), src.remaining());
          if (n != expected) {
            throw new CodecException("zstd frame holds " + n + " bytes, expected " + expected);
          }
          dst.position(before + expected);
        }
        case LZ4 -> {
          int read = Lz4.D.decompress(src, src.position(), dst, before, expected);
          if (read != src.remaining()) {
            throw new CodecException("lz4 frame length mismatch");
          }
          dst.position(before + expected);
        }
        default -> throw new IllegalStateException();
      }
    } catch (CodecException e) {
      throw e;
    } catch (RuntimeException e) {
      // lz4-java throws some of its errors without a message.
      String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      throw new CodecException(name().toLowerCase() + " data is corrupt: " + why);
    }
  }
}
