package dev.imprint.engine.container;

import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.SequentialDisk;
import java.io.IOException;
import java.io.InputStream;

/**
 * A foreign disk-image container (qcow2, VHD, VHDX, Apple UDIF, Android sparse…), recognised by its
 * content, never by its name. Each format is one implementation listed in {@link Containers}.
 */
public interface ContainerFormat {
  /** The name used in messages and {@code info}: "qcow2", "VHDX", "Apple UDIF (.dmg)". */
  String name();

  /**
   * Whether {@code in} holds this container, judged by content only: the first bytes, or the last
   * ones for formats that keep their magic in a trailer (UDIF's koly, VHD's conectix footer).
   * Cheap: reads at most a few KiB and never fails on an input too short to be one.
   */
  boolean recognizes(RandomAccessInput in) throws IOException;

  /**
   * Opens the container as a disk, reading and checking its tables first, so damage known from the
   * tables is reported before any byte reaches a target. The disk owns {@code in}: closing the disk
   * closes it. Reads of the disk may come from several threads at once.
   *
   * @throws ContainerRefusedException a container this reader will not restore, for a reason the
   *     user can act on (encrypted, a backing file, a dirty log, a sparse bundle)
   * @throws dev.imprint.engine.image.ImageDamagedException the container's structure is wrong
   */
  ContainerDisk open(RandomAccessInput in) throws IOException;

  /**
   * Whether {@link #openStream} can decode this container front to back, as it arrives through a
   * pipe or a GET without ranges. Most formats need their tables first and random access after.
   */
  default boolean streamable() {
    return false;
  }

  /**
   * Decodes the container front to back (only when {@link #streamable}); the stream's first bytes
   * are still in it. Zero and unallocated ranges arrive as zeros.
   *
   * @throws dev.imprint.engine.image.ImageDamagedException the container's structure is wrong
   */
  default SequentialDisk openStream(String description, InputStream in) throws IOException {
    throw new UnsupportedOperationException(name() + " cannot be read front to back");
  }
}
