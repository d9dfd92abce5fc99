package dev.imprint.engine.container;

import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * The disk a foreign container holds, readable at any offset like a raw image, so used-block
 * skipping, fan-out and verification work unchanged. Reads decode the container's own chunks; reads
 * of zero and unallocated extents return zeros without touching the container.
 */
public interface ContainerDisk extends RandomAccessDisk {
  ContainerFormat format();

  /** The whole disk, in order, without gaps or overlaps: what each range holds. */
  List<ContainerExtent> extents();

  /**
   * What {@code info} shows about the container, in order: its version, cluster or block size,
   * compression, checksums kept. Keys are short labels.
   */
  Map<String, String> describe();

  /**
   * Checks every checksum the container keeps of itself (imagescan), reading all of it.
   *
   * @param progress called with bytes of the disk checked so far
   * @throws dev.imprint.engine.image.ImageDamagedException at the first mismatch, naming where
   */
  void scan(LongConsumer progress) throws IOException;

  /** Only DATA extents may hold non-zero bytes; ZERO and UNALLOCATED read as zeros. */
  @Override
  default List<Extent> dataExtents() throws IOException {
    List<Extent> out = new ArrayList<>();
    for (ContainerExtent e : extents()) {
      if (e.kind() == ContainerExtent.Kind.DATA) {
        out.add(new Extent(e.offset(), e.length()));
      }
    }
    return out;
  }
}
