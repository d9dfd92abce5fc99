package dev.imprint.engine.pipeline;

import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.partition.GptRelocation;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * What a target restored earlier must hold, for {@code imprint verify}: the image's ranges, as the
 * restore changed them for this target's size. A whole-device GPT image on a disk of another size
 * had its table rewritten (the backup moved to the disk's end): those bytes are expected as
 * rewritten, exactly as the restore's own verification expects them.
 */
public final class VerifyPlan {
  private VerifyPlan() {}

  public static List<Chunk.Range> forTarget(Image image, long targetSize) throws IOException {
    List<Chunk.Range> ranges = Verifier.rangesOf(image.metadata());
    ImageHeader h = image.header();
    if (h.kind() != ImageKind.DEVICE
        || h.scheme() != PartitionScheme.GPT
        || targetSize == h.logicalSize()) {
      return ranges;
    }
    int held = (int) Math.min(RestoreOptions.DEFAULT_HELD_REGION, h.logicalSize());
    byte[] head = read(image, 0, held);
    List<GptRelocation.Write> writes =
        TableFix.gpt(h.sectorSize(), h.logicalSize(), false).writes(head, targetSize);
    List<Chunk.Range> out = new ArrayList<>(ranges.size() + writes.size());
    List<GptRelocation.Write> inside = new ArrayList<>();
    for (Chunk.Range r : ranges) {
      if (r.offset() >= targetSize) {
        continue; // past a smaller disk's end: only the old backup GPT was there
      }
      long end = Math.min(r.end(), targetSize);
      List<GptRelocation.Write> touching = new ArrayList<>();
      for (GptRelocation.Write w : writes) {
        if (w.offset() < end && r.offset() < w.offset() + w.bytes().length) {
          touching.add(w);
        }
      }
      if (touching.isEmpty() && end == r.end()) {
        out.add(r);
        continue;
      }
      if (r.kind() != RangeKind.DATA) {
        // Zero (or don't-care) space: what the writes left of it, cut at the disk's end; the
        // written bytes themselves are checked on their own below.
        long at = r.offset();
        touching.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        for (GptRelocation.Write w : touching) {
          if (w.offset() > at) {
            out.add(new Chunk.Range(at, w.offset() - at, r.kind(), 0, null));
          }
          at = Math.max(at, w.offset() + w.bytes().length);
        }
        if (at < end) {
          out.add(new Chunk.Range(at, end - at, r.kind(), 0, null));
        }
        continue;
      }
      // Expected: the image's bytes with the table writes laid over them, cut at the disk's end.
      byte[] now = read(image, r.offset(), (int) (end - r.offset()));
      for (GptRelocation.Write w : touching) {
        long from = Math.max(w.offset(), r.offset());
        long to = Math.min(w.offset() + w.bytes().length, end);
        System.arraycopy(
            w.bytes(),
            (int) (from - w.offset()),
            now,
            (int) (from - r.offset()),
            (int) (to - from));
        inside.add(w);
      }
      out.add(
          new Chunk.Range(
              r.offset(), now.length, RangeKind.DATA, Xxh64.of(ByteBuffer.wrap(now)), null));
    }
    for (GptRelocation.Write w : writes) {
      if (!inside.contains(w)) {
        out.add(
            new Chunk.Range(
                w.offset(),
                w.bytes().length,
                RangeKind.DATA,
                Xxh64.of(ByteBuffer.wrap(w.bytes())),
                null));
      }
    }
    out.sort((a, b) -> Long.compare(a.offset(), b.offset()));
    return out;
  }

  /**
   * What a restore from a raw disk or foreign container wrote: its chunks, read once and hashed
   * (xxHash64) as the restore's own verification knows them; everything outside {@code used} is
   * unallocated and not checked.
   */
  public static CompletionStage<List<Chunk.Range>> forDisk(
      RandomAccessDisk disk, List<Extent> used, Materializer mat, int parallelism) {
    return forSupply(
        new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE, used), null, mat, parallelism);
  }

  /**
   * What a restore from a raw disk's chunks wrote (a zip entry, a compressed image, a bmap's
   * ranges), read once through {@code chunks} as the restore read them and hashed; with {@code
   * only} (sorted, disjoint), just the bytes inside it, as bmaptool checks only mapped ranges. The
   * stage fails as the chunks do (a damaged source).
   */
  public static CompletionStage<List<Chunk.Range>> forSupply(
      DiskChunks chunks, List<Extent> only, Materializer mat, int parallelism) {
    int par = Math.max(1, parallelism);
    ExecutorService cpu = Executors.newFixedThreadPool(par, CreatePipeline.daemon("imprint-plan"));
    RangeList ranges = new RangeList();
    return chunks
        .chunks(par, cpu)
        .runWith(
            Sink.foreach(
                c -> {
                  try {
                    if (only == null) {
                      ranges.add(c.range());
                    } else {
                      clip(c, only, ranges);
                    }
                  } finally {
                    c.release();
                  }
                }),
            mat)
        .handle(
            (d, err) -> {
              cpu.shutdownNow();
              if (err != null) {
                throw err instanceof CompletionException ce ? ce : new CompletionException(err);
              }
              ranges.sort();
              return ranges;
            });
  }

  /** The parts of {@code c} inside {@code only}, each hashed on its own. */
  private static void clip(Chunk c, List<Extent> only, List<Chunk.Range> out) {
    if (c.kind() == RangeKind.UNALLOCATED) {
      return;
    }
    int lo = 0;
    int hi = only.size();
    while (lo < hi) { // the first extent ending past the chunk's start
      int mid = (lo + hi) >>> 1;
      if (only.get(mid).end() <= c.offset()) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    for (int i = lo; i < only.size() && only.get(i).offset() < c.end(); i++) {
      long from = Math.max(c.offset(), only.get(i).offset());
      long to = Math.min(c.end(), only.get(i).end());
      long hash = 0;
      if (c.kind() == RangeKind.DATA) {
        hash =
            Xxh64.of(
                c.view()
                    .position((int) (from - c.offset()))
                    .limit((int) (to - c.offset()))
                    .slice());
      }
      out.add(new Chunk.Range(from, to - from, c.kind(), hash, null));
    }
  }

  /** The image's logical bytes at {@code [offset, offset + length)}, decoded and checked. */
  private static byte[] read(Image image, long offset, int length) throws IOException {
    byte[] out = new byte[length];
    List<IndexEntry> index = image.metadata().index();
    for (int i = 0; i < index.size(); i++) {
      IndexEntry e = index.get(i);
      if (e.logicalEnd() <= offset || e.logicalOffset() >= offset + length) {
        continue;
      }
      if (e.kind() != RangeKind.DATA) {
        continue; // zero or unallocated: zeros
      }
      ByteBuffer stored = image.readStored(i, null);
      ByteBuffer plain = ByteBuffer.allocateDirect((int) e.logicalLength());
      Image.decode(e, i, stored, plain, image.description());
      plain.flip();
      long from = Math.max(e.logicalOffset(), offset);
      long to = Math.min(e.logicalEnd(), offset + length);
      plain.position((int) (from - e.logicalOffset()));
      plain.get(out, (int) (from - offset), (int) (to - from));
    }
    return out;
  }
}
