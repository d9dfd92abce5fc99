package dev.imprint.engine.container.sparse;

import static dev.imprint.engine.container.sparse.AndroidSparse.damaged;

import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.SequentialDisk;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalLong;
import java.util.zip.CRC32;

/**
 * An Android sparse image decoded front to back as it arrives (a pipe, a GET without ranges): the
 * chunks come in disk order, so none of the index is needed. Don't-care chunks read as zeros; CRC32
 * chunks and the header's image CRC32 are checked as they pass, before the bytes after them.
 */
final class SparseStream implements SequentialDisk {
  private final String where;
  private final InputStream in;
  private final SparseHeader header;
  private final CRC32 crc = new CRC32();
  private final byte[] copy = new byte[1 << 16];

  private long chunksRead;
  private long block;
  private long fileAt;
  private int type;
  private long left;
  private int pattern;

  private SparseStream(String where, InputStream in, ByteBuffer h) throws IOException {
    this.where = where;
    this.in = in;
    this.header = SparseHeader.parse(where, h);
    fileAt = AndroidSparse.FILE_HEADER;
    skip(header.fileHeader() - AndroidSparse.FILE_HEADER);
  }

  static SparseStream open(String where, InputStream in) throws IOException {
    try {
      return new SparseStream(where, in, header(in, where, AndroidSparse.FILE_HEADER, 0));
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
  }

  private static ByteBuffer header(InputStream in, String where, int length, long at)
      throws IOException {
    byte[] b = in.readNBytes(length);
    if (b.length < length) {
      throw new ImageDamagedException(
          where
              + " ends at byte "
              + (at + b.length)
              + " inside a header: the sparse image is"
              + " truncated (copy it again)");
    }
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public String description() {
    return where;
  }

  @Override
  public OptionalLong size() {
    return OptionalLong.of(header.size());
  }

  @Override
  public int readFully(ByteBuffer dst) throws IOException {
    int total = 0;
    while (dst.hasRemaining()) {
      if (left == 0 && !nextChunk()) {
        break;
      }
      int n = (int) Math.min(dst.remaining(), left);
      int at = dst.position();
      switch (type) {
        case AndroidSparse.RAW -> {
          for (int done = 0; done < n; ) {
            int k = Math.min(n - done, copy.length);
            readExactly(copy, k);
            dst.put(copy, 0, k);
            done += k;
          }
        }
        case AndroidSparse.FILL -> {
          // Chunks are whole blocks (multiples of 4): the phase is where in the pattern we are.
          long into = (4 - left % 4) % 4;
          for (int i = 0; i < n; i++) {
            dst.put((byte) (pattern >>> (8 * (int) ((into + i) & 3))));
          }
        }
        default -> {
          for (int i = 0; i < n; i++) {
            dst.put((byte) 0);
          }
        }
      }
      crc.update(dst.duplicate().position(at).limit(at + n));
      left -= n;
      total += n;
    }
    return total;
  }

  /** Reads the next block-covering chunk's header (checking CRC32 chunks on the way). */
  private boolean nextChunk() throws IOException {
    while (chunksRead < header.totalChunks()) {
      String chunk = "chunk " + chunksRead + " (at byte " + fileAt + ")";
      ByteBuffer h = header(in, where, AndroidSparse.CHUNK_HEADER, fileAt);
      fileAt += AndroidSparse.CHUNK_HEADER;
      skip(header.chunkHeader() - AndroidSparse.CHUNK_HEADER);
      chunksRead++;
      int t = Short.toUnsignedInt(h.getShort(0));
      long blocks = Integer.toUnsignedLong(h.getInt(4));
      long payload = header.payload(where, chunk, t, blocks, Integer.toUnsignedLong(h.getInt(8)));
      if (t == AndroidSparse.CRC32) {
        int want = header(in, where, 4, fileAt).getInt(0);
        fileAt += 4;
        if (want != (int) crc.getValue()) {
          throw new ImageDamagedException(
              where
                  + ": "
                  + chunk
                  + String.format(
                      " records CRC32 %08x but the data gives %08x", want, (int) crc.getValue())
                  + ": the sparse image is damaged (copy it again)");
        }
        continue;
      }
      if (blocks > header.totalBlocks() - block) {
        throw damaged(where, chunk + "'s end block", block + blocks, "lies past the disk's end");
      }
      if (t == AndroidSparse.FILL) {
        pattern = header(in, where, 4, fileAt).getInt(0);
        fileAt += 4;
      }
      if (t == AndroidSparse.RAW) {
        fileAt += payload;
      }
      block += blocks;
      type = t;
      left = blocks * header.blockSize();
      if (left > 0) {
        return true;
      }
    }
    if (block != header.totalBlocks()) {
      throw damaged(where, "the blocks its chunks cover", block, "differ from its header's");
    }
    if (header.imageCrc() != 0 && header.imageCrc() != (int) crc.getValue()) {
      throw new ImageDamagedException(
          where
              + String.format(
                  ": the image CRC32 is %08x but the data gives %08x",
                  header.imageCrc(), (int) crc.getValue())
              + ": the sparse image is damaged (copy it again)");
    }
    return false;
  }

  private void readExactly(byte[] b, int n) throws IOException {
    int got = in.readNBytes(b, 0, n);
    if (got < n) {
      throw new ImageDamagedException(
          where + " ends inside a raw chunk: the sparse image is truncated (copy it again)");
    }
  }

  private void skip(long n) throws IOException {
    try {
      in.skipNBytes(n);
    } catch (EOFException e) {
      throw new ImageDamagedException(where + " ends inside a header: it is truncated");
    }
    fileAt += n;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
