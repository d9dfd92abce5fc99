package dev.imprint.engine.container;

/** A byte range of a container's disk and what the container says it holds. */
public record ContainerExtent(long offset, long length, Kind kind) {
  public enum Kind {
    /** Stored in the container (compressed or not). */
    DATA,
    /** Stored as "reads as zeros": must be zeros on a target. */
    ZERO,
    /**
     * Never written (qcow2 unallocated, sparse don't-care, UDIF ignore): content does not matter.
     */
    UNALLOCATED
  }

  public ContainerExtent {
    if (offset < 0 || length <= 0) {
      throw new IllegalArgumentException("bad extent " + offset + "+" + length);
    }
  }

  public long end() {
    return offset + length;
  }
}
