package dev.imprint.engine.pipeline;

import dev.imprint.engine.partition.GptRelocation;
import java.io.IOException;
import java.util.List;

/**
 * Rewrites a whole-device image's partition table for a target of another size (the GPT backup
 * moves to the target's last LBAs). Runs after everything else is on the target.
 */
@FunctionalInterface
public interface TableFix {
  /**
   * @param head the image's first bytes (at least the primary GPT)
   * @param targetSize the target's size in bytes
   * @return writes to apply in order, none when the target needs nothing
   */
  List<GptRelocation.Write> writes(byte[] head, long targetSize) throws IOException;

  /** Whole-device GPT images: relocate when the target's size differs from the image's. */
  static TableFix gpt(int sectorSize, long imageSize, boolean growLast) {
    return (head, targetSize) -> {
      if (targetSize == imageSize && !growLast) {
        return List.of();
      }
      return growLast
          ? GptRelocation.relocateGrowingLast(head, sectorSize, imageSize, targetSize)
          : GptRelocation.relocate(head, sectorSize, imageSize, targetSize);
    };
  }
}
