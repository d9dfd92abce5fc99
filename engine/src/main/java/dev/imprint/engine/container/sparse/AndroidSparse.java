package dev.imprint.engine.container.sparse;

import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.SequentialDisk;
import dev.imprint.engine.source.TruncatedException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Android sparse images (what {@code img2simg} writes and fastboot flashes): a 28-byte file header,
 * then chunks that each cover whole blocks of the disk — raw data, a 4-byte fill pattern, "don't
 * care", or a CRC32 of the disk so far. Layout in docs/CONTAINERS.md.
 */
public final class AndroidSparse implements ContainerFormat {
  static final int MAGIC = 0xed26ff3a;
  static final int FILE_HEADER = 28;
  static final int CHUNK_HEADER = 12;
  static final int RAW = 0xCAC1;
  static final int FILL = 0xCAC2;
  static final int DONT_CARE = 0xCAC3;
  static final int CRC32 = 0xCAC4;

  @Override
  public String name() {
    return "Android sparse";
  }

  @Override
  public boolean recognizes(RandomAccessInput in) throws IOException {
    if (in.size() < FILE_HEADER) {
      return false;
    }
    ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    in.readFully(b, 0);
    return b.getInt(0) == MAGIC;
  }

  @Override
  public ContainerDisk open(RandomAccessInput in) throws IOException {
    String where = in.description();
    try {
      SparseHeader h = SparseHeader.parse(where, read(in, 0, FILE_HEADER));
      long room = (in.size() - h.fileHeader()) / h.chunkHeader();
      if (h.totalChunks() > room) {
        throw damaged(
            where,
            "the chunk count",
            h.totalChunks(),
            "is more than the " + in.size() + "-byte file can hold");
      }
      return new SparseDisk(in, SparseIndex.build(in, where, h), h.version(), h.imageCrc());
    } catch (TruncatedException e) {
      throw new ImageDamagedException(e.message("the sparse image is truncated (copy it again)"));
    }
  }

  /** Chunks come in disk order: a sparse image decodes front to back as well. */
  @Override
  public boolean streamable() {
    return true;
  }

  @Override
  public SequentialDisk openStream(String description, InputStream in) throws IOException {
    return SparseStream.open(description, in);
  }

  static ByteBuffer read(RandomAccessInput in, long at, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    in.readFully(b, at);
    return b.flip();
  }

  static ImageDamagedException damaged(String where, String field, Object value, String why) {
    return ImageDamagedException.field(where, field, value, why);
  }
}
