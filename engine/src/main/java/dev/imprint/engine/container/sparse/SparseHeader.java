package dev.imprint.engine.container.sparse;

import static dev.imprint.engine.container.sparse.AndroidSparse.damaged;

import dev.imprint.engine.container.ContainerRefusedException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A sparse image's 28-byte file header, checked: what both the random-access index and the
 * front-to-back decoder start from.
 */
record SparseHeader(
    String version,
    int fileHeader,
    int chunkHeader,
    int blockSize,
    long totalBlocks,
    long totalChunks,
    int imageCrc) {

  /** Larger blocks than any writer uses; a header claiming more is damaged, not exotic. */
  private static final int MAX_BLOCK_SIZE = 64 << 20;

  static SparseHeader parse(String where, ByteBuffer h) throws IOException {
    int major = Short.toUnsignedInt(h.getShort(4));
    int minor = Short.toUnsignedInt(h.getShort(6));
    int fileHeader = Short.toUnsignedInt(h.getShort(8));
    int chunkHeader = Short.toUnsignedInt(h.getShort(10));
    long blockSize = Integer.toUnsignedLong(h.getInt(12));
    if (h.getInt(0) != AndroidSparse.MAGIC) {
      throw damaged(where, "the magic", Integer.toHexString(h.getInt(0)), "is not 0xed26ff3a");
    }
    if (major != 1) {
      throw new ContainerRefusedException(
          where
              + " is an Android sparse image of version "
              + major
              + "."
              + minor
              + ", which this reader does not know (it reads 1.x): convert it with simg2img");
    }
    if (fileHeader < AndroidSparse.FILE_HEADER) {
      throw damaged(where, "the file header size", fileHeader, "is below 28");
    }
    if (chunkHeader < AndroidSparse.CHUNK_HEADER) {
      throw damaged(where, "the chunk header size", chunkHeader, "is below 12");
    }
    if (blockSize == 0 || blockSize % 4 != 0 || blockSize > MAX_BLOCK_SIZE) {
      throw damaged(where, "the block size", blockSize, "is not a multiple of 4 up to 64 MiB");
    }
    return new SparseHeader(
        major + "." + minor,
        fileHeader,
        chunkHeader,
        (int) blockSize,
        Integer.toUnsignedLong(h.getInt(16)),
        Integer.toUnsignedLong(h.getInt(20)),
        h.getInt(24));
  }

  long size() {
    return totalBlocks * blockSize;
  }

  /**
   * The payload a chunk of {@code type} covering {@code blocks} must carry, checked against the
   * total size its header gives.
   */
  long payload(String where, String chunk, int type, long blocks, long totalSize)
      throws IOException {
    long expected =
        switch (type) {
          case AndroidSparse.RAW -> blocks * blockSize;
          case AndroidSparse.FILL, AndroidSparse.CRC32 -> 4;
          case AndroidSparse.DONT_CARE -> 0;
          default ->
              throw damaged(
                  where,
                  chunk + "'s type",
                  String.format("0x%04x", type),
                  "is none of raw, fill, don't care, CRC32");
        };
    if (totalSize < chunkHeader || totalSize - chunkHeader != expected) {
      throw damaged(
          where,
          chunk + "'s total size",
          totalSize,
          "does not match its " + blocks + " blocks of " + blockSize + " bytes");
    }
    return expected;
  }
}
