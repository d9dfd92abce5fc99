package dev.imprint.engine.container.udif;

import dev.imprint.engine.codec.CodecException;
import dev.imprint.engine.codec.adc.Adc;
import dev.imprint.engine.codec.lzfse.Lzfse;
import dev.imprint.engine.image.ImageDamagedException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.tukaani.xz.LZMAInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Decodes one compressed chunk into exactly its declared size: fewer bytes, more bytes (a
 * decompression bomb is stopped at the declared size plus one) or a malformed stream is damage.
 */
final class ChunkDecoder {
  /** LZMA dictionaries beyond this are not what hdiutil writes; refuse rather than allocate. */
  private static final int LZMA_MEMORY_LIMIT_KIB = 256 << 10;

  private static final ThreadLocal<Lzfse> LZFSE = ThreadLocal.withInitial(Lzfse::new);

  private ChunkDecoder() {}

  static void decode(Chunk c, byte[] src, int srcOff, byte[] out, int outOff, String where)
      throws ImageDamagedException {
    int srcLen = (int) c.storedLength();
    int want = (int) c.length();
    int got;
    try {
      got =
          switch (c.type()) {
            case Chunk.ADC -> Adc.decode(src, srcOff, srcLen, out, outOff, want);
            case Chunk.LZFSE -> LZFSE.get().decode(src, srcOff, srcLen, out, outOff, want);
            case Chunk.ZLIB -> inflate(src, srcOff, srcLen, out, outOff, want);
            case Chunk.BZIP2 ->
                drain(
                    new BZip2CompressorInputStream(new ByteArrayInputStream(src, srcOff, srcLen)),
                    out,
                    outOff,
                    want);
            case Chunk.LZMA -> drain(lzma(src, srcOff, srcLen), out, outOff, want);
            default ->
                throw new IllegalArgumentException("not compressed: " + Chunk.name(c.type()));
          };
    } catch (IOException | RuntimeException e) {
      // Decoders of foreign libraries throw unchecked exceptions on some malformed inputs too.
      throw damaged(c, where, String.valueOf(e.getMessage()));
    }
    if (got != want) {
      throw damaged(
          c, where, "decodes to " + got + " bytes, not the " + want + " its table declares");
    }
  }

  static ImageDamagedException damaged(Chunk c, String where, String what) {
    return new ImageDamagedException(
        where
            + ": "
            + Chunk.name(c.type())
            + " chunk at disk offset "
            + c.diskOffset()
            + " (stored at "
            + c.storedOffset()
            + "+"
            + c.storedLength()
            + ") "
            + what
            + ": the image is damaged (copy it again)");
  }

  private static int inflate(byte[] src, int off, int len, byte[] out, int outOff, int want)
      throws CodecException {
    Inflater inf = new Inflater();
    try {
      inf.setInput(src, off, len);
      int n = 0;
      while (n < want) {
        int r = inf.inflate(out, outOff + n, want - n);
        if (r == 0) {
          if (inf.needsDictionary()) {
            throw new CodecException("zlib stream asks for a preset dictionary");
          }
          if (inf.finished() || inf.needsInput()) {
            break;
          }
        }
        n += r;
      }
      if (n < want && inf.needsInput() && !inf.finished()) {
        throw new CodecException("zlib stream is cut short after " + n + " bytes");
      }
      if (n == want && !inf.finished() && inf.inflate(new byte[1]) > 0) {
        throw new CodecException("decodes to more than the " + want + " bytes its table declares");
      }
      return n;
    } catch (DataFormatException e) {
      throw new CodecException("zlib stream is malformed (" + e.getMessage() + ")");
    } finally {
      inf.end();
    }
  }

  private static InputStream lzma(byte[] src, int off, int len) throws IOException {
    ByteArrayInputStream in = new ByteArrayInputStream(src, off, len);
    // An .xz stream when it starts with the xz magic, else a bare .lzma (LZMA-alone) stream.
    boolean xz = len >= 6 && src[off] == (byte) 0xfd && src[off + 1] == '7' && src[off + 2] == 'z';
    return xz
        ? new XZInputStream(in, LZMA_MEMORY_LIMIT_KIB)
        : new LZMAInputStream(in, LZMA_MEMORY_LIMIT_KIB);
  }

  private static int drain(InputStream in, byte[] out, int off, int want) throws IOException {
    try (in) {
      int n = in.readNBytes(out, off, want);
      if (n == want && in.read() != -1) {
        throw new CodecException("decodes to more than the " + want + " bytes its table declares");
      }
      return n;
    }
  }
}
