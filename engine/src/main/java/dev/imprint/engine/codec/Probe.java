package dev.imprint.engine.codec;

import java.nio.ByteBuffer;

/**
 * A cheap guess whether a chunk is worth compressing. Random or already-compressed data (encrypted
 * partitions, media, compressed archives) costs zstd as much time as text but gains nothing, so a
 * chunk whose sampled slices all fail to shrink under zstd level 1 is stored as is. The slices are
 * spread over the chunk, so one incompressible file tail at its start does not decide for the rest.
 */
public final class Probe {
  /** Bytes per sampled slice, and slices per chunk: 64 KiB of a 4 MiB chunk, under 2% of it. */
  static final int SLICE = 16 * 1024;

  static final int SLICES = 4;

  /** A slice "shrinks" when zstd:1 saves at least 1/64 (1.6%) of it. */
  private static final int MIN_SAVING = SLICE / 64;

  private static final ThreadLocal<ByteBuffer> SCRATCH =
      ThreadLocal.withInitial(
          () -> ByteBuffer.allocateDirect(Codec.ZSTD.maxCompressedLength(SLICE)));

  private Probe() {}

  /**
   * True when every sampled slice of {@code data} (position..limit, a direct buffer; not moved)
   * fails to shrink. Chunks too small to sample are never called incompressible.
   */
  public static boolean incompressible(ByteBuffer data) {
    int n = data.remaining();
    if (n < 2 * SLICE * SLICES || !data.isDirect()) {
      return false;
    }
    ByteBuffer out = SCRATCH.get();
    for (int i = 0; i < SLICES; i++) {
      // Slices at the middle of each quarter: 1/8, 3/8, 5/8, 7/8 of the chunk.
      int from = data.position() + (int) ((long) n * (2 * i + 1) / (2 * SLICES)) - SLICE / 2;
      ByteBuffer slice = data.duplicate();
      slice.limit(from + SLICE).position(from);
      out.clear();
      try {
        if (Codec.ZSTD.compress(slice, out, 1) <= SLICE - MIN_SAVING) {
          return false;
        }
      } catch (CodecException e) {
        return false; // let the real compression report it
      }
    }
    return true;
  }
}
