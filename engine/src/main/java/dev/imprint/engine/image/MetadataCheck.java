package dev.imprint.engine.image;

import java.io.IOException;

/** A check on an image's metadata before it may touch a disk, such as a trusted signature. */
@FunctionalInterface
public interface MetadataCheck {
  MetadataCheck NONE = m -> {};

  void check(ImageMetadata metadata) throws IOException;

  /**
   * Whether this check is what makes the image trusted (--trust): then it must pass before the
   * first byte is written, which a sequential source, whose signature comes last, cannot offer.
   */
  default boolean establishesTrust() {
    return false;
  }

  /** {@code check} as the check that establishes trust (see {@link #establishesTrust}). */
  static MetadataCheck trust(MetadataCheck check) {
    return new MetadataCheck() {
      @Override
      public void check(ImageMetadata metadata) throws IOException {
        check.check(metadata);
      }

      @Override
      public boolean establishesTrust() {
        return true;
      }
    };
  }
}
