package dev.imprint.engine.pipeline;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.stream.IntStream;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Chunks of an Imprint image read at random: index entries are fetched and decoded side by side and
 * come out in whatever order they finish.
 */
public final class ImageChunks implements ChunkSupply {
  private final Image image;
  private final BufferPool pool;
  private final ThreadLocal<ByteBuffer> scratch = new ThreadLocal<>();

  public ImageChunks(Image image) {
    this.image = image;
    this.pool = new BufferPool(image.header().chunkSize());
  }

  public Image image() {
    return image;
  }

  @Override
  public String description() {
    return image.description();
  }

  @Override
  public long logicalSize() {
    return image.header().logicalSize();
  }

  @Override
  public int chunkSize() {
    return image.header().chunkSize();
  }

  @Override
  public long dataBytes() {
    return image.metadata().bytesOf(RangeKind.DATA);
  }

  @Override
  public Source<Chunk, NotUsed> chunks(int parallelism, Executor cpu) {
    List<IndexEntry> index = image.metadata().index();
    return Source.fromIterator(() -> IntStream.range(0, index.size()).iterator())
        .mapAsyncUnordered(
            parallelism, i -> CompletableFuture.supplyAsync(() -> load(i, index.get(i)), cpu));
  }

  private Chunk load(int i, IndexEntry e) {
    if (e.kind() != RangeKind.DATA) {
      return Chunk.empty(e.logicalOffset(), e.logicalLength(), e.kind());
    }
    ByteBuffer out = pool.acquire();
    try {
      ByteBuffer s = image.readStored(i, scratch.get());
      scratch.set(s);
      out.limit((int) e.logicalLength());
      long chunkNumber = e.logicalOffset() / image.header().chunkSize();
      Image.decode(e, chunkNumber, s, out, image.description());
      out.flip();
      return Chunk.data(e.logicalOffset(), out, Hashes.xxh64(out), pool);
    } catch (IOException ex) {
      pool.release(out);
      throw new UncheckedIOException(ex);
    }
  }

  @Override
  public void close() throws IOException {
    image.close();
  }
}
