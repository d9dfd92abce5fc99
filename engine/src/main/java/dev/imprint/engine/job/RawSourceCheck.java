package dev.imprint.engine.job;

import dev.imprint.engine.bmap.Bmap;
import dev.imprint.engine.bmap.BmapCheck;
import dev.imprint.engine.container.zip.ZipImage;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.pipeline.Chunk;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.DiskChunks;
import dev.imprint.engine.pipeline.VerifyPlan;
import dev.imprint.engine.source.DecodedDisk;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.Sources;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.zip.CRC32;
import org.apache.pekko.stream.Materializer;

/**
 * {@code verify} and {@code imagescan} of a source that a restore reads as a raw disk (a raw or
 * compressed raw image, a zip holding one, a raw image with a bmap), read through the very readers
 * a restore uses, so what they check is what a restore would write.
 */
public final class RawSourceCheck {
  private RawSourceCheck() {}

  /** What a scan checked: each check in words, empty when the source carries no checksums. */
  public record Scan(String description, List<String> checked) {}

  /**
   * The source opened as a restore opens it, when a restore reads it as a raw disk; empty for an
   * Imprint image (closed again), a pipe or a multicast server.
   */
  public static Optional<DiskChunks> open(SourceSpec s) throws IOException {
    if (s.isStdin() || s.isServer()) {
      return Optional.empty();
    }
    ChunkSupply supply = SourceOpener.open(s);
    if (supply instanceof DiskChunks d) {
      return Optional.of(d);
    }
    supply.close();
    return Optional.empty();
  }

  /**
   * What a target restored from {@code chunks} must hold: every chunk hashed; with a bmap, only its
   * mapped ranges, each range's checksum checked on the way.
   *
   * @throws Refusal {@link Refusal.Problem#DAMAGED} when the source is damaged
   */
  public static List<Chunk.Range> expected(DiskChunks chunks, Materializer mat, int parallelism)
      throws IOException {
    Bmap bmap = chunks.check() instanceof BmapCheck b ? b.bmap() : null;
    try {
      return VerifyPlan.forSupply(chunks, bmap == null ? null : bmap.used(), mat, parallelism)
          .toCompletableFuture()
          .join();
    } catch (CompletionException e) {
      throw failure(e);
    }
  }

  /**
   * Reads the source through and checks every checksum it carries by itself: a zip entry's CRC32
   * (and size), a compressed stream's own checks (gzip: each member's CRC32 and ISIZE), a bmap's
   * per-range checksums and the image size it records.
   *
   * @throws Refusal {@link Refusal.Problem#DAMAGED} naming the first damage
   */
  public static Scan scan(SourceSpec s, DiskChunks chunks, Materializer mat, int parallelism)
      throws IOException {
    List<String> checked = new ArrayList<>();
    zipEntry(s, checked);
    expected(chunks, mat, parallelism);
    if (chunks.disk() instanceof DecodedDisk d) {
      String what =
          switch (d.format()) {
            case GZIP -> "every gzip member's CRC32 and ISIZE";
            case XZ -> "the xz stream's integrity checks";
            case BZIP2 -> "the bzip2 block and stream CRCs";
            case ZSTD -> "the zstd frames' checksums (where they carry one)";
            case LZ4 -> "the lz4 frames' checksums (where they carry one)";
            default -> null;
          };
      if (what != null) {
        checked.add(what);
      }
    }
    if (chunks.check() instanceof BmapCheck b) {
      Bmap bmap = b.bmap();
      long sums = bmap.ranges().stream().filter(r -> r.checksum() != null).count();
      checked.add(
          (bmap.algorithm() == null || sums == 0
                  ? "the image size "
                  : sums + " mapped ranges' " + bmap.algorithm() + " and the image size ")
              + "that "
              + bmap.where()
              + " records");
    }
    return new Scan(chunks.description(), checked);
  }

  /**
   * A zip archive's one entry: a deflated one is checked as it is inflated (its CRC32 and size); a
   * stored one is read in place by a restore, so its CRC32 is computed here.
   */
  private static void zipEntry(SourceSpec s, List<String> checked) throws IOException {
    RandomAccessInput archive;
    if (s.isHttp()) {
      try {
        archive = HttpRangeReader.open(HttpUrls.parse(s.spec()), s.http());
      } catch (HttpSourceException e) {
        if (e.kind() == HttpSourceException.Kind.NO_RANGES) {
          return; // streamed: a stored entry's CRC32 was checked as it arrived
        }
        throw new Refusal(e.getMessage());
      }
    } else if (Files.isRegularFile(s.localPath()) && Sources.isZip(s.localPath())) {
      archive = FileDisk.open(s.localPath());
    } else {
      return;
    }
    try (archive) {
      if (!ZipImage.recognizes(archive)) {
        return;
      }
      ZipImage z;
      try {
        z = ZipImage.open(archive);
      } catch (ImageFormatException e) {
        throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
      }
      if (z.method() == ZipImage.DEFLATED) {
        checked.add("the CRC32 and size of " + z.description());
        return;
      }
      CRC32 crc = new CRC32();
      ByteBuffer b = ByteBuffer.allocate(1 << 20);
      for (long at = 0; at < z.size(); at += b.capacity()) {
        b.clear().limit((int) Math.min(b.capacity(), z.size() - at));
        archive.readFully(b, z.dataOffset() + at);
        crc.update(b.flip());
      }
      if ((int) crc.getValue() != z.crc()) {
        throw new Refusal(
            Refusal.Problem.DAMAGED,
            String.format(
                "%s: its CRC32 is %08x, not the %08x recorded: the zip archive is damaged (copy it"
                    + " again)",
                z.description(), (int) crc.getValue(), z.crc()));
      }
      checked.add("the CRC32 of " + z.description());
    }
  }

  /**
   * Reading failed: damage (the source's own checks, or a decoder finding corrupt data) unless the
   * server failed.
   */
  private static IOException failure(CompletionException e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof HttpSourceException h) {
        return new Refusal(h.getMessage());
      }
      if (c instanceof Refusal r) {
        return r;
      }
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof IOException io) {
        return new Refusal(Refusal.Problem.DAMAGED, io.getMessage());
      }
    }
    throw e;
  }
}
