package dev.imprint.engine.container;

import dev.imprint.engine.container.qcow2.Qcow2;
import dev.imprint.engine.container.sparse.AndroidSparse;
import dev.imprint.engine.container.udif.Udif;
import dev.imprint.engine.container.vhd.Vhd;
import dev.imprint.engine.container.vhdx.Vhdx;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Every foreign container format Imprint reads, tried in order. */
public final class Containers {
  private Containers() {}

  /** One line per format; a reader is added here and nowhere else. */
  public static final List<ContainerFormat> ALL =
      List.of(
          new Qcow2(), // magic at the start
          new Vhdx(), // file type identifier at the start
          new Vhd(), // footer at the end (a dynamic disk's copy at the start)
          new Udif(), // koly trailer at the end (refusals: encrcdsa, AEA, sprs at the start)
          new AndroidSparse() // magic at the start
          );

  /**
   * Bytes of the head and of the tail that recognition reads once and shares between the formats,
   * so an http(s) source costs two range requests, not two per format.
   */
  public static final int PROBE_LENGTH = 4096;

  /** The format that recognises {@code in}, if any. */
  public static Optional<ContainerFormat> recognize(RandomAccessInput in) throws IOException {
    RandomAccessInput probe = Probe.of(in);
    for (ContainerFormat f : ALL) {
      if (f.recognizes(probe)) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }

  /**
   * The format of a stream, judged from its first bytes alone (a pipe cannot be read at its end):
   * formats whose magic is in a trailer are not recognised here.
   *
   * @param head the stream's first bytes, up to {@link #PROBE_LENGTH}
   */
  public static Optional<ContainerFormat> recognizeHead(byte[] head, int length)
      throws IOException {
    return recognize(new Probe(null, "the stream's first bytes", length, head, length, null, 0));
  }

  /**
   * Opens {@code in} as the container it holds, if it holds one. The disk then owns {@code in};
   * when none is recognised, {@code in} stays open and the caller's. When opening fails, {@code in}
   * is closed.
   */
  public static Optional<ContainerDisk> open(RandomAccessInput in) throws IOException {
    Optional<ContainerFormat> f = recognize(in);
    if (f.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(f.get().open(in));
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
  }

  /** Bytes at the end of a stream that {@link #trailerIn} looks at. */
  public static final int TRAILER_LENGTH = 512;

  /**
   * The container whose trailer ends a stream that was read front to back as a raw disk: an Apple
   * UDIF .dmg (its "koly" block is the last 512 bytes) or a fixed VHD (its "conectix" footer).
   * Nothing at a stream's start tells them from a raw disk, so the check comes at its end.
   *
   * @param last the stream's last {@code length} bytes (at most {@link #TRAILER_LENGTH})
   * @return the container's name, if the bytes are its trailer
   */
  public static Optional<String> trailerIn(byte[] last, int length) {
    if (length < TRAILER_LENGTH) {
      return Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(last, length - TRAILER_LENGTH, TRAILER_LENGTH);
    int at = b.position();
    if (b.getInt(at) == 0x6b6f6c79 && b.getInt(at + 8) == TRAILER_LENGTH) {
      return Optional.of("UDIF (.dmg)"); // "koly", header size 512
    }
    if (b.getLong(at) == 0x636f6e6563746978L) {
      return Optional.of("VHD"); // "conectix"
    }
    return Optional.empty();
  }

  /**
   * What a restore or {@code create} copies of a container's disk. Where its filesystems were
   * understood ({@code filesystemUsed} not null), they decide, exactly as for a raw disk: a range
   * the container left unallocated but a filesystem uses is written as zeros, since that is what it
   * reads as (qemu-img leaves every all-zero cluster unallocated, inside filesystems too, and a
   * stale FAT or inode table on the target would not be zeros). Where nothing was understood, the
   * container's own word is all there is: its unallocated ranges are skipped.
   *
   * @return sorted, disjoint ranges to copy; everything else is unallocated
   */
  public static List<Extent> used(ContainerDisk disk, List<Extent> filesystemUsed) {
    if (filesystemUsed != null) {
      return filesystemUsed;
    }
    List<Extent> out = new ArrayList<>();
    for (ContainerExtent e : disk.extents()) {
      if (e.kind() == ContainerExtent.Kind.UNALLOCATED) {
        continue;
      }
      Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.end() == e.offset()) {
        out.set(out.size() - 1, new Extent(last.offset(), e.end() - last.offset()));
      } else {
        out.add(new Extent(e.offset(), e.length()));
      }
    }
    return out;
  }

  /** Bytes of each kind in a container's disk, indexed by {@link ContainerExtent.Kind#ordinal}. */
  public static long[] bytesByKind(ContainerDisk disk) {
    long[] n = new long[ContainerExtent.Kind.values().length];
    for (ContainerExtent e : disk.extents()) {
      n[e.kind().ordinal()] += e.length();
    }
    return n;
  }

  /**
   * An input whose head and tail were read once; other reads go to the input. Closing it leaves the
   * input open.
   */
  private record Probe(
      RandomAccessInput in,
      String description,
      long size,
      byte[] head,
      int headLength,
      byte[] tail,
      long tailOffset)
      implements RandomAccessInput {
    static Probe of(RandomAccessInput in) throws IOException {
      long size = in.size();
      int headLength = (int) Math.min(PROBE_LENGTH, size);
      ByteBuffer head = ByteBuffer.allocate(headLength);
      in.readFully(head, 0);
      long tailOffset = Math.max(headLength, size - PROBE_LENGTH);
      ByteBuffer tail = ByteBuffer.allocate((int) (size - tailOffset));
      in.readFully(tail, tailOffset);
      return new Probe(
          in, in.description(), size, head.array(), headLength, tail.array(), tailOffset);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      if (position < 0 || position >= size) {
        return 0;
      }
      int want = (int) Math.min(dst.remaining(), size - position);
      if (position + want <= headLength) {
        dst.put(head, (int) position, want);
        return want;
      }
      if (tail != null && position >= tailOffset) {
        dst.put(tail, (int) (position - tailOffset), want);
        return want;
      }
      if (in == null) {
        // Only the head of a stream is known: the rest is not there to read.
        int have = (int) Math.max(0, headLength - position);
        dst.put(head, (int) position, have);
        return have;
      }
      return in.read(dst, position);
    }

    @Override
    public void close() {}
  }
}
