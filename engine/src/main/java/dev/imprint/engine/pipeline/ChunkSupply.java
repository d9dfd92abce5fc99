package dev.imprint.engine.pipeline;

import java.io.Closeable;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Where restore chunks come from. Chunks may come in any order; nothing downstream may assume
 * otherwise. Data chunks arrive decoded and checked against their SHA-256 when the source has one.
 */
public sealed interface ChunkSupply extends Closeable
    permits ImageChunks, StreamedImageChunks, DiskChunks, MulticastChunks {
  String description();

  /** Size of the logical disk, or -1 when a pipe doesn't tell until its end. */
  long logicalSize();

  /** The largest data chunk this supply produces. */
  int chunkSize();

  /** Bytes of data ranges to write when known up front (for progress), else -1. */
  long dataBytes();

  /**
   * The chunks, decoded on {@code cpu} with {@code parallelism} in flight. The source fails if the
   * input is damaged; for a pipe, that can happen at its very end.
   */
  Source<Chunk, NotUsed> chunks(int parallelism, Executor cpu);

  /**
   * The most decoded chunks out at once (from the {@link MemoryBudget}); decoding waits for a
   * release beyond it. Set before {@link #chunks}. When the chunks have all been produced, the
   * supply keeps no buffers for reuse, so verification has the memory.
   */
  void limitBuffers(int buffers);
}
