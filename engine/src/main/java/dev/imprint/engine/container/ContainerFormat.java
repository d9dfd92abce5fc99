package dev.imprint.engine.container;

import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;

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
   * tables is reported before any byte reaches a target.
   *
   * @throws ContainerRefusedException a container this reader will not restore, for a reason the
   *     user can act on (encrypted, a backing file, a dirty log, a sparse bundle)
   * @throws dev.imprint.engine.image.ImageDamagedException the container's structure is wrong
   */
  ContainerDisk open(RandomAccessInput in) throws IOException;
}
