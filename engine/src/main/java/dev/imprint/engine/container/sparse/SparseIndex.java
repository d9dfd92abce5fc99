package dev.imprint.engine.container.sparse;

import static dev.imprint.engine.container.sparse.AndroidSparse.damaged;

import dev.imprint.engine.container.ContainerExtent;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where each chunk of a sparse image lies on the disk and in the file, built once by walking the
 * chunk headers, so a read at any disk offset is a binary search away from its bytes.
 *
 * @param start disk offset of each block-covering chunk, ascending
 * @param type its chunk type (RAW, FILL, DONT_CARE)
 * @param value RAW: file offset of its data; FILL: the pattern (low 32 bits)
 * @param crcAt CRC32 chunks: the disk offset they cover up to
 * @param crcValue CRC32 chunks: the CRC they carry
 */
record SparseIndex(
    long size,
    int blockSize,
    long[] start,
    int[] type,
    long[] value,
    int chunks,
    long[] crcAt,
    int[] crcValue) {

  static SparseIndex build(RandomAccessInput in, String where, SparseHeader header)
      throws IOException {
    int blockSize = header.blockSize();
    long totalBlocks = header.totalBlocks();
    int totalChunks = (int) header.totalChunks();
    long size = header.size();
    // Grown as chunks are met, never sized from the header's count, which may be damaged.
    int cap = Math.min(totalChunks, 1024);
    long[] start = new long[cap];
    int[] type = new int[cap];
    long[] value = new long[cap];
    List<long[]> crcs = new ArrayList<>();
    int n = 0;
    long at = header.fileHeader();
    long block = 0;
    for (int i = 0; i < totalChunks; i++) {
      String chunk = "chunk " + i + " (at byte " + at + ")";
      ByteBuffer h = AndroidSparse.read(in, at, CHUNK_HEADER_READ);
      int t = Short.toUnsignedInt(h.getShort(0));
      long blocks = Integer.toUnsignedLong(h.getInt(4));
      long total = Integer.toUnsignedLong(h.getInt(8));
      long payload = header.payload(where, chunk, t, blocks, total);
      if (at + total > in.size()) {
        throw damaged(
            where, chunk + "'s end", at + total, "lies past the file's end (" + in.size() + ")");
      }
      if (t == AndroidSparse.CRC32) {
        int crc = AndroidSparse.read(in, at + header.chunkHeader(), 4).getInt(0);
        crcs.add(new long[] {block * blockSize, crc});
      } else if (blocks > 0) {
        if (blocks > totalBlocks - block) {
          throw damaged(
              where,
              chunk + "'s end block",
              block + blocks,
              "lies past the disk's " + totalBlocks + " blocks");
        }
        if (n == start.length) {
          cap = Math.max(16, cap * 2);
          start = Arrays.copyOf(start, cap);
          type = Arrays.copyOf(type, cap);
          value = Arrays.copyOf(value, cap);
        }
        start[n] = block * blockSize;
        type[n] = t;
        value[n] =
            switch (t) {
              case AndroidSparse.RAW -> at + header.chunkHeader();
              case AndroidSparse.FILL ->
                  Integer.toUnsignedLong(
                      AndroidSparse.read(in, at + header.chunkHeader(), 4).getInt(0));
              default -> 0;
            };
        n++;
        block += blocks;
      }
      at += total;
    }
    if (block != totalBlocks) {
      throw damaged(
          where,
          "the blocks its chunks cover",
          block,
          "differs from the " + totalBlocks + " blocks its header gives");
    }
    long[] crcAt = new long[crcs.size()];
    int[] crcValue = new int[crcs.size()];
    for (int i = 0; i < crcs.size(); i++) {
      crcAt[i] = crcs.get(i)[0];
      crcValue[i] = (int) crcs.get(i)[1];
    }
    return new SparseIndex(size, blockSize, start, type, value, n, crcAt, crcValue);
  }

  /** Only the first 12 bytes of a chunk header mean anything; a larger one is skipped over. */
  private static final int CHUNK_HEADER_READ = AndroidSparse.CHUNK_HEADER;

  /** The chunk holding disk offset {@code position} (which lies inside the disk). */
  int find(long position) {
    int i = Arrays.binarySearch(start, 0, chunks, position);
    return i >= 0 ? i : -i - 2;
  }

  long end(int i) {
    return i + 1 < chunks ? start[i + 1] : size;
  }

  /** The disk as extents, neighbours of the same kind merged. */
  List<ContainerExtent> extents() {
    List<ContainerExtent> out = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      ContainerExtent.Kind k = kind(i);
      long s = start[i];
      long e = end(i);
      ContainerExtent last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.kind() == k && last.end() == s) {
        out.set(out.size() - 1, new ContainerExtent(last.offset(), e - last.offset(), k));
      } else {
        out.add(new ContainerExtent(s, e - s, k));
      }
    }
    return out;
  }

  ContainerExtent.Kind kind(int i) {
    return switch (type[i]) {
      case AndroidSparse.RAW -> ContainerExtent.Kind.DATA;
      case AndroidSparse.FILL ->
          value[i] == 0 ? ContainerExtent.Kind.ZERO : ContainerExtent.Kind.DATA;
      default -> ContainerExtent.Kind.UNALLOCATED;
    };
  }

  int count(int chunkType) {
    int c = 0;
    for (int i = 0; i < chunks; i++) {
      c += type[i] == chunkType ? 1 : 0;
    }
    return c;
  }
}
