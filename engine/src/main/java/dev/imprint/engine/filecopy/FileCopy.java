package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import dev.imprint.engine.job.Refusal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * File-copy restore (asr's restore without erase): the items of a source directory onto a target
 * directory, each replacing the same-named target item, every other target item left alone; then,
 * unless told not to, a verification pass. One stream per pass: the walk (one thread) feeds items
 * to a bounded pool that copies many at once; memory is bounded by the items in flight.
 */
public final class FileCopy {
  private static final String BLOCKING = "pekko.actor.default-blocking-io-dispatcher";

  private final Path source;
  private final Path target;
  private final FileCopyOptions options;
  private final Consumer<String> warnings;
  private final FileCopyProgress progress = new FileCopyProgress();
  private volatile boolean cancelled;

  public FileCopy(Path source, Path target, FileCopyOptions options, Consumer<String> warnings) {
    this.source = source;
    this.target = target;
    this.options = options;
    this.warnings = warnings;
  }

  /** The target directory, for messages. */
  public String target() {
    return target.toString();
  }

  public FileCopyProgress progress() {
    return progress;
  }

  /** Stops handing out new items; those in flight finish (none is left half-made). */
  public void cancel() {
    cancelled = true;
  }

  /**
   * Every refusal before the first write: both are directories, neither holds the other, the target
   * is writable.
   */
  public void check() throws Refusal {
    directory(source, "source");
    directory(target, "target");
    Path s;
    Path t;
    try {
      s = source.toRealPath();
      t = target.toRealPath();
      if (Files.getFileStore(t).isReadOnly()) {
        throw new Refusal(
            "target "
                + target
                + " is mounted read-only: remount it read-write (mount -o remount,rw)");
      }
    } catch (IOException e) {
      throw new Refusal("cannot examine " + target + ": " + e.getMessage());
    }
    if (s.equals(t)) {
      throw new Refusal("source and target are the same directory " + s + ": name another target");
    }
    if (t.startsWith(s) || s.startsWith(t)) {
      throw new Refusal(
          (t.startsWith(s)
                  ? "target " + t + " lies inside the source " + s
                  : "source " + s + " lies inside the target " + t)
              + ": a copy would overwrite what it reads; choose directories apart");
    }
  }

  private static void directory(Path p, String role) throws Refusal {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !Files.exists(p)) {
      throw new Refusal(role + " " + p + " does not exist: name a directory or a mounted volume");
    }
    if (!Files.isDirectory(p)) {
      throw new Refusal(
          role + " " + p + " is not a directory: name a directory or a mounted volume");
    }
  }

  /** Runs the copy (and the verification) to its end. */
  public FileCopyReport run(Materializer mat) throws Refusal {
    check();
    LostKinds lost = new LostKinds(target.toString(), warnings);
    int par = options.parallelism();
    ExecutorService pool = pool(par);
    try {
      // Totals for progress come from a walk of their own, beside the copy, not before it.
      CompletableFuture.runAsync(this::count, pool);
      int srcRoot = openDir(source);
      int tgtRoot = openDir(target);
      Stat rootStat = Stat.of(srcRoot);
      TreeCopy copy = new TreeCopy(options, progress, lost, warnings, Stat.of(tgtRoot));
      Dir root = new Dir(null, new byte[0], srcRoot, tgtRoot, rootStat);
      progress.start(FileCopyProgress.Phase.COPYING);
      Walk walk = new Walk(root, copy);
      copy.attach(walk);
      pass(walk, () -> copy.stopped() != null || cancelled, copy::copy, pool, par, mat);
      copy.links();
      int sync = openDir(target);
      try {
        Sys.syncfs(sync);
      } finally {
        Walk.close(sync);
      }
      String stopped = cancelled ? "interrupted" : copy.stopped();
      long copiedItems = progress.items();
      long copiedBytes = progress.bytes();
      TreeVerify verify =
          options.verify() && stopped == null
              ? verify(
                  new TreeVerify(options, copy.notCopied(), lost, copy.atimesKept(), progress),
                  pool,
                  par,
                  mat)
              : null;
      return new FileCopyReport(
          copiedItems,
          copiedBytes,
          copy.failures(),
          copy.failedCount(),
          lost.all(),
          cancelled ? "interrupted" : stopped,
          verify != null,
          verify != null ? verify.differences() : List.of(),
          verify != null ? verify.count() : 0);
    } catch (LastErrorException e) {
      throw new Refusal(
          "cannot open " + source + " or " + target + ": " + Errors.describe(e.getErrorCode()));
    } finally {
      pool.shutdownNow();
    }
  }

  /** Only the verification pass, of a target copied earlier. */
  public FileCopyReport verifyOnly(Materializer mat) throws Refusal {
    check();
    int par = options.parallelism();
    ExecutorService pool = pool(par);
    try {
      TreeVerify verify =
          verify(
              new TreeVerify(
                  options,
                  java.util.Set.of(),
                  new LostKinds(target.toString(), warnings),
                  true,
                  progress),
              pool,
              par,
              mat);
      return new FileCopyReport(
          0, 0, List.of(), 0, List.of(), null, true, verify.differences(), verify.count());
    } catch (LastErrorException e) {
      throw new Refusal(
          "cannot open " + source + " or " + target + ": " + Errors.describe(e.getErrorCode()));
    } finally {
      pool.shutdownNow();
    }
  }

  private TreeVerify verify(TreeVerify verify, ExecutorService pool, int par, Materializer mat) {
    progress.start(FileCopyProgress.Phase.VERIFYING);
    int vs = openDir(source);
    int vt = openDir(target);
    Stat rootStat = Stat.of(vs);
    verify.directory(".", vs, vt, rootStat);
    Walk walk = new Walk(new Dir(null, new byte[0], vs, vt, rootStat), verify);
    verify.attach(walk);
    pass(walk, () -> cancelled, verify::check, pool, par, mat);
    return verify;
  }

  private static ExecutorService pool(int par) {
    AtomicInteger threads = new AtomicInteger();
    return Executors.newFixedThreadPool(
        par,
        r -> {
          Thread th = new Thread(r, "imprint-filecopy-" + threads.incrementAndGet());
          th.setDaemon(true);
          return th;
        });
  }

  /**
   * One stream: the walk on a blocking thread, items on the pool in batches, {@code par} batches at
   * once. A batch is a run of items from the walk, up to {@link #BATCH_ITEMS} of them or {@link
   * #BATCH_BYTES} of data, whichever comes first (a large file is a batch of its own): one stream
   * element and one hand-over to the pool per batch rather than per item, which for small files
   * cost as much CPU as their copy.
   */
  private static void pass(
      Walk walk,
      java.util.function.BooleanSupplier stop,
      Consumer<Walk.Entry> work,
      ExecutorService pool,
      int par,
      Materializer mat) {
    Iterator<List<Walk.Entry>> batches = new Batches(walk, stop);
    Source.fromIterator(() -> batches)
        .withAttributes(ActorAttributes.dispatcher(BLOCKING))
        .mapAsyncUnordered(
            par, batch -> CompletableFuture.runAsync(() -> batch.forEach(work), pool))
        .runWith(Sink.ignore(), mat)
        .toCompletableFuture()
        .join();
    // A walk stopped early still holds its open directories: finish them.
    walk.abandon();
  }

  static final int BATCH_ITEMS = 64;
  static final long BATCH_BYTES = 1 << 20;

  /** The walk's items cut into batches (see {@link #pass}). */
  static final class Batches implements Iterator<List<Walk.Entry>> {
    private final Iterator<Walk.Entry> walk;
    private final java.util.function.BooleanSupplier stop;

    Batches(Iterator<Walk.Entry> walk, java.util.function.BooleanSupplier stop) {
      this.walk = walk;
      this.stop = stop;
    }

    @Override
    public boolean hasNext() {
      return !stop.getAsBoolean() && walk.hasNext();
    }

    @Override
    public List<Walk.Entry> next() {
      List<Walk.Entry> batch = new ArrayList<>();
      long bytes = 0;
      do {
        Walk.Entry e = walk.next();
        batch.add(e);
        if (e.stat().isRegular()) {
          bytes += e.stat().size();
        }
      } while (batch.size() < BATCH_ITEMS && bytes < BATCH_BYTES && hasNext());
      return batch;
    }
  }

  /** The source's files and bytes of data, for progress. */
  private void count() {
    int fd = openDir(source);
    long[] totals = new long[2];
    try {
      count(fd, totals);
    } finally {
      Walk.close(fd);
    }
    progress.totalItems = totals[0];
    progress.totalBytes = totals[1];
    progress.counted = true;
  }

  private void count(int dirfd, long[] totals) {
    List<byte[][]> items;
    try {
      items = Walk.list(dirfd);
    } catch (LastErrorException e) {
      return;
    }
    for (byte[][] item : items) {
      totals[0]++;
      int type = item[1][0];
      if (type == Walk.DT_DIR) {
        try {
          int fd =
              Sys.openat(
                  dirfd,
                  item[0],
                  Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_CLOEXEC,
                  0);
          try {
            count(fd, totals);
          } finally {
            Walk.close(fd);
          }
        } catch (LastErrorException e) {
          // the copy reports it
        }
      } else if (type == 8 || type == Walk.DT_UNKNOWN) {
        try {
          Stat s = Stat.of(dirfd, item[0]);
          if (s.isRegular()) {
            totals[1] += Math.min(s.size(), s.blocks() * 512);
          }
        } catch (LastErrorException e) {
          // likewise
        }
      }
    }
  }

  private static int openDir(Path p) {
    return Sys.openat(
        Sys.AT_FDCWD,
        Names.c(p.toString().getBytes(StandardCharsets.UTF_8)),
        Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_CLOEXEC,
        0);
  }
}
