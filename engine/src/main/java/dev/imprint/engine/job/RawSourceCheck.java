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
   * per-range checksums and the image size it records. Empty, before anything is read, for a bare
   * raw image: it carries nothing to check.
   *
   * @throws Refusal {@link Refusal.Problem#DAMAGED} naming the first damage
   */
  public static Optional<Scan> scan(
      SourceSpec s, DiskChunks chunks, Materializer mat, int parallelism) throws IOException {
    List<String> checked = new ArrayList<>();
    Optional<ZipImage> zip = zipOf(s, false);
    if (zip.isPresent()) {
      checked.add(
          (zip.get().method() == ZipImage.DEFLATED ? "the CRC32 and size of " : "the CRC32 of ")
              + zip.get().description());
    }
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
    if (checked.isEmpty()) {
      return Optional.empty();
    }
    if (zip.isPresent() && zip.get().method() == ZipImage.STORED) {
      zipOf(s, true); // read in place by a restore: its CRC32 is computed here
    }
    expected(chunks, mat, parallelism);
    return Optional.of(new Scan(chunks.description(), checked));
  }

  /**
   * The one entry of a zip archive source read at random (a streamed one is checked as it arrives),
   * with a stored entry's CRC32 computed over its bytes when {@code crc}.
   */
  private static Optional<ZipImage> zipOf(SourceSpec s, boolean crc) throws IOException {
    RandomAccessInput archive;
    if (s.isHttp()) {
      try {
        archive = HttpRangeReader.open(HttpUrls.parse(s.spec()), s.http());
      } catch (HttpSourceException e) {
        if (e.kind() == HttpSourceException.Kind.NO_RANGES) {
          return Optional.empty();
        }
        throw new Refusal(e.getMessage());
      }
    } else if (Files.isRegularFile(s.localPath()) && Sources.isZip(s.localPath())) {
      archive = FileDisk.open(s.localPath());
    } else {
      return Optional.empty();
    }
    try (archive) {
      try {
        if (!ZipImage.recognizes(archive)) {
          return Optional.empty();
        }
      } catch (HttpSourceException e) {
        if (e.kind() == HttpSourceException.Kind.NO_RANGES) {
          return Optional.empty(); // found out at the first read
        }
        throw e;
      }
      ZipImage z;
      try {
        z = ZipImage.open(archive);
      } catch (ImageFormatException e) {
        throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
      }
      if (crc && z.method() == ZipImage.STORED) {
        CRC32 sum = new CRC32();
        ByteBuffer b = ByteBuffer.allocate(1 << 20);
        for (long at = 0; at < z.size(); at += b.capacity()) {
          b.clear().limit((int) Math.min(b.capacity(), z.size() - at));
          archive.readFully(b, z.dataOffset() + at);
          sum.update(b.flip());
        }
        if ((int) sum.getValue() != z.crc()) {
          throw new Refusal(
              Refusal.Problem.DAMAGED,
              String.format(
                  "%s: its CRC32 is %08x, not the %08x recorded: the zip archive is damaged (copy"
                      + " it again)",
                  z.description(), (int) sum.getValue(), z.crc()));
        }
      }
      return Optional.of(z);
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
