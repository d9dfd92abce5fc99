package dev.imprint.engine.bmap;

import dev.imprint.engine.hash.StreamDigest;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.pipeline.Chunk;
import dev.imprint.engine.pipeline.ChunkCheck;
import dev.imprint.engine.source.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * Checks each bmap range's checksum from the bytes read, in disk order, as the chunk that ends the
 * range passes: a range whose bytes are wrong fails the restore before that chunk is written.
 */
public final class BmapCheck implements ChunkCheck {
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16);

  private final Bmap bmap;
  private final StreamDigest digest;
  private int next;
  private long expected;

  public BmapCheck(Bmap bmap) {
    this.bmap = bmap;
    this.digest = bmap.algorithm() == null ? null : StreamDigest.of(bmap.algorithm());
  }

  /** The bmap whose checksums this checks. */
  public Bmap bmap() {
    return bmap;
  }

  @Override
  public void check(Chunk c) throws IOException {
    if (c.offset() != expected) {
      throw new IllegalStateException("chunk at " + c.offset() + " out of order: " + expected);
    }
    expected = c.end();
    while (next < bmap.ranges().size()) {
      Bmap.Range r = bmap.ranges().get(next);
      Extent e = bmap.bytes(r);
      if (e.offset() >= c.end()) {
        return;
      }
      if (r.checksum() != null && digest != null) {
        long from = Math.max(e.offset(), c.offset());
        long to = Math.min(e.end(), c.end());
        if (c.kind() == RangeKind.DATA) {
          digest.update(
              c.view().position((int) (from - c.offset())).limit((int) (to - c.offset())));
        } else {
          for (long left = to - from; left > 0; left -= ZEROS.capacity()) {
            digest.update(ZEROS.duplicate().limit((int) Math.min(left, ZEROS.capacity())));
          }
        }
        if (to < e.end()) {
          return; // the range goes on in the next chunk
        }
        String got = HexFormat.of().formatHex(digest.digest());
        if (!got.equals(r.checksum())) {
          throw new ImageDamagedException(
              "the image's blocks "
                  + r.first()
                  + "-"
                  + r.last()
                  + " (bytes "
                  + e.offset()
                  + "-"
                  + (e.end() - 1)
                  + ") give "
                  + bmap.algorithm()
                  + " "
                  + got
                  + ", but "
                  + bmap.where()
                  + " says "
                  + r.checksum()
                  + ": the image is damaged, or the bmap is not its own (copy them again)");
        }
      } else if (e.end() > c.end()) {
        return;
      }
      next++;
    }
  }

  @Override
  public void end(long size) throws IOException {
    if (size != bmap.imageSize()) {
      throw new ImageDamagedException(
          "the image is "
              + size
              + " bytes, but "
              + bmap.where()
              + " says "
              + bmap.imageSize()
              + ": the image is cut short or the bmap is not its own (copy them again)");
    }
  }
}
