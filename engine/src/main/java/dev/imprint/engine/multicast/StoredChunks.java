package dev.imprint.engine.multicast;

import dev.imprint.engine.image.Image;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Where the sender reads a chunk's stored bytes: an image, or any test's bytes. */
@FunctionalInterface
public interface StoredChunks {
  /**
   * Copies the stored payload of index entry {@code entryNumber} into {@code dst} from its
   * position; {@code dst} has exactly its stored length remaining.
   */
  void read(int entryNumber, ByteBuffer dst) throws IOException;

  /** An image's records, each checked against the index as {@link Image#readStored} does. */
  static StoredChunks of(Image image) {
    return new StoredChunks() {
      private ByteBuffer scratch;

      @Override
      public synchronized void read(int entryNumber, ByteBuffer dst) throws IOException {
        scratch = image.readStored(entryNumber, scratch);
        dst.put(scratch);
      }
    };
  }
}
