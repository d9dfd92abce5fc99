package dev.imprint.engine.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** An image in a local file. */
public final class FileRangeReader implements RangeReader {
  private final FileChannel channel;
  private final long length;
  private final String description;

  public FileRangeReader(Path path) throws IOException {
    this.channel = FileChannel.open(path, StandardOpenOption.READ);
    this.length = channel.size();
    this.description = path.toString();
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public void readFully(ByteBuffer dst, long position) throws IOException {
    long p = position;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, p);
      if (n < 0) {
        throw new ImageDamagedException(
            description
                + " ends at byte "
                + p
                + " in the middle of a read: the image is truncated");
      }
      p += n;
    }
  }

  /** Index entries of this file, mapped read-only rather than read onto the heap. */
  IndexTable mapIndex(long offset, long length) throws IOException {
    return IndexTable.map(channel, offset, length);
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
