package dev.imprint.engine.pipeline;

import dev.imprint.engine.codec.Compression;
import dev.imprint.engine.image.ImageKind;

/** How {@code create} cuts and compresses a disk. */
public record CreateOptions(
    int chunkSize, Compression compression, ImageKind kind, int parallelism, String creator) {
  public static final int DEFAULT_CHUNK_SIZE = 4 << 20;

  public CreateOptions {
    if (chunkSize < 65536 || chunkSize > (64 << 20) || Integer.bitCount(chunkSize) != 1) {
      throw new IllegalArgumentException(
          "chunk size "
              + chunkSize
              + " is not a power of two between 64K and 64M: use e.g. --chunk-size 4M");
    }
  }
}
