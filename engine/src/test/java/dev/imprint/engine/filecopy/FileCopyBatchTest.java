package dev.imprint.engine.filecopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the copy hands items to its pool (batches cut by count and by bytes) and the in-kernel copy
 * within one filesystem (copy_file_range for every size, holes kept).
 */
class FileCopyBatchTest {
  @TempDir Path dir;

  private static final Dir ROOT = new Dir(null, new byte[0], -1, -1, stat(Sys.S_IFDIR, 0));

  private static Stat stat(int type, long size) {
    return new Stat(type | 0644, 0, 0, 1, 1, 1, 0, size, (size + 511) / 512, 0, 0, 0, 0);
  }

  private static Walk.Entry file(long size) {
    return new Walk.Entry(ROOT, Names.c("f"), 8, stat(Sys.S_IFREG, size));
  }

  private static List<Integer> sizes(List<Walk.Entry> items, AtomicBoolean stop) {
    FileCopy.Batches b = new FileCopy.Batches(items.iterator(), stop::get);
    List<Integer> sizes = new ArrayList<>();
    while (b.hasNext()) {
      sizes.add(b.next().size());
    }
    return sizes;
  }

  @Test
  void batchesAreCutByCountAndByBytes() {
    List<Walk.Entry> small = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      small.add(file(100));
    }
    assertEquals(List.of(FileCopy.BATCH_ITEMS, 100 - FileCopy.BATCH_ITEMS), sizes(small, stop()));

    // A large file closes its batch; the next one starts afresh.
    List<Walk.Entry> mixed =
        List.of(file(10), file(10), file(10), file(5 << 20), file(10), file(10), file(5 << 20));
    assertEquals(List.of(4, 3), sizes(mixed, stop()));
    List<Walk.Entry> bigFirst = List.of(file(5 << 20), file(10), file(10));
    assertEquals(List.of(1, 2), sizes(bigFirst, stop()));

    // Symlinks and other items weigh nothing but count.
    List<Walk.Entry> links = new ArrayList<>();
    for (int i = 0; i < 70; i++) {
      links.add(new Walk.Entry(ROOT, Names.c("l"), 10, stat(Sys.S_IFLNK, 1 << 20)));
    }
    assertEquals(List.of(FileCopy.BATCH_ITEMS, 70 - FileCopy.BATCH_ITEMS), sizes(links, stop()));
  }

  @Test
  void aStopEndsTheBatchInHand() {
    AtomicBoolean stop = stop();
    List<Walk.Entry> items = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      items.add(file(1));
    }
    FileCopy.Batches b =
        new FileCopy.Batches(
            new java.util.Iterator<>() {
              int at;

              @Override
              public boolean hasNext() {
                return at < items.size();
              }

              @Override
              public Walk.Entry next() {
                if (at == 2) {
                  stop.set(true);
                }
                return items.get(at++);
              }
            },
            stop::get);
    assertTrue(b.hasNext());
    assertEquals(3, b.next().size());
    assertFalse(b.hasNext());
  }

  private static AtomicBoolean stop() {
    return new AtomicBoolean();
  }

  /** Source and target on one filesystem: every file goes through copy_file_range. */
  @Test
  void withinOneFilesystemEveryFileIsCopiedInTheKernelAndHolesStay() throws Exception {
    Root.assumeCommands("rsync");
    Path s = Files.createDirectories(dir.resolve("src"));
    Path t = Files.createDirectories(dir.resolve("tgt"));
    Cmd.run(
        "bash",
        "-c",
        String.join(
            "\n",
            "set -e",
            "cd \"$1\"",
            ": > empty; printf hi > tiny; head -c 5000 /dev/urandom > small",
            "head -c 3000000 /dev/urandom > big",
            "truncate -s 32M sparse; printf data | dd of=sparse bs=4096 seek=100 conv=notrunc"
                + " status=none",
            "mkdir d; for i in $(seq 1 150); do head -c $i /dev/urandom > d/f$i; done",
            "printf old > \"$2/tiny\""),
        "-",
        s.toString(),
        t.toString());
    ActorSystem system = ActorSystem.create("filecopy-batch-test");
    try {
      List<String> warnings = new ArrayList<>();
      FileCopyReport r =
          new FileCopy(s, t, FileCopyOptions.defaults(), warnings::add)
              .run(Materializer.matFromSystem(system));
      assertTrue(r.ok(), r + " " + warnings);
      assertTrue(r.verified());
      assertEquals(157, r.items(), r.toString()); // the files, d and the top
    } finally {
      system.terminate();
    }
    assertEquals("", Cmd.run("rsync", "-naHc", "--itemize-changes", s + "/", t + "/"));
    long allocated = Long.parseLong(Cmd.run("stat", "-c", "%b", t + "/sparse").trim());
    assertTrue(allocated * 512 < 1 << 20, "sparse takes " + allocated + " blocks");
  }
}
