package dev.imprint.engine.image;

import java.io.IOException;

/** A check on an image's metadata before it may touch a disk, such as a trusted signature. */
@FunctionalInterface
public interface MetadataCheck {
  MetadataCheck NONE = m -> {};

  void check(ImageMetadata metadata) throws IOException;
}
