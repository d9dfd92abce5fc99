package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.hash.Xxh64;
import dev.imprint.engine.image.RangeKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The read-back that runs while a target is written: what it checked is not read again, what it
 * found wrong is the result, and it reads from the device (O_DIRECT), so the file lives on the
 * build's own (disk) file system, not a tmpfs.
 */
class VerifyBehindTest {
  static final int CS = 1 << 20;
  static ActorSystem system;
  static Materializer mat;
  Path dir;
  Path file;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("verify-behind-test");
    mat = Materializer.matFromSystem(system);
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  @BeforeEach
  void makeDir() throws IOException {
    Path target = Path.of("target").toAbsolutePath();
    Files.createDirectories(target);
    dir = Files.createTempDirectory(target, "verify-behind-");
    file = dir.resolve("target.img");
    Files.createFile(file);
  }

  @AfterEach
  void removeDir() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The target file, opened as a restore opens it: with O_DIRECT, which the test needs. */
  private TargetDevice open() throws IOException {
    TargetDevice d = TargetDevice.open(file, OpenMode.RESTORE);
    if (!d.direct()) {
      d.close();
      throw new AssertionError(
          "O_DIRECT refused on " + file + ": the test needs a disk file system");
    }
    return d;
  }

  /** Writes chunk i of random data and returns its range (not yet told to the read-back). */
  private static Chunk.Range write(TargetDevice d, int i) throws IOException {
    ByteBuffer b = TargetDevice.allocateAligned(CS);
    byte[] bytes = new byte[CS];
    new Random(i).nextBytes(bytes);
    b.put(bytes).flip();
    long xxh = Xxh64.of(b);
    d.write(b, (long) i * CS);
    return new Chunk.Range((long) i * CS, CS, RangeKind.DATA, xxh, null);
  }

  private void damage(long at) throws IOException {
    try (FileChannel c =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      c.read(one, at);
      one.put(0, (byte) ~one.get(0)).rewind();
      c.write(one, at);
    }
  }

  @Test
  void whatWasReadBackWhileWritingIsNotReadAgainAndTheRestIs() throws Exception {
    Verifier v = new Verifier(mat, CS);
    try (TargetDevice d = open()) {
      VerifyBehind behind = new VerifyBehind(v, d, 2, 2L * CS);
      List<Chunk.Range> ranges = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        Chunk.Range r = write(d, i);
        ranges.add(r);
        if (i < 7) {
          behind.written(r); // the last is written at the end, like a held chunk: never read here
        }
      }
      behind.stop();
      // The first batch (chunks 0 and 1) began at chunk 1 and stop() waited for it.
      assertTrue(behind.covers(ranges.get(0)) && behind.covers(ranges.get(1)), "first batch");
      assertTrue(behind.checkedBytes() >= 2L * CS, "bytes read back: " + behind.checkedBytes());
      assertEquals(Optional.empty(), behind.mismatch());
      // A range whose hash is no longer the one read back (a table fix changed it) is not covered.
      Chunk.Range changed = new Chunk.Range(0, CS, RangeKind.DATA, ranges.get(0).xxh64() + 1, null);
      assertFalse(behind.covers(changed));

      // Damage one chunk that was read back and the one that was not: the final pass finds the
      // second and not the first.
      damage(100);
      int last = 7;
      assertFalse(behind.covers(ranges.get(last)), "the last chunk was never read back");
      damage((long) last * CS + 5);
      Optional<Verifier.Mismatch> m =
          v.verify(d, ranges, (done, of) -> {}, behind).toCompletableFuture().get();
      assertEquals(Optional.of((long) last * CS), m.map(Verifier.Mismatch::offset));
      // Without the read-back's record both are read: the first comes first.
      Optional<Verifier.Mismatch> all =
          v.verify(d, ranges, (done, of) -> {}).toCompletableFuture().get();
      assertEquals(Optional.of(0L), all.map(Verifier.Mismatch::offset));
    }
  }

  @Test
  void aDifferenceFoundWhileWritingIsTheResultWithoutAnotherRead() throws Exception {
    Verifier v = new Verifier(mat, CS);
    try (TargetDevice d = open()) {
      VerifyBehind behind = new VerifyBehind(v, d, 2, 2L * CS);
      List<Chunk.Range> ranges = new ArrayList<>();
      Chunk.Range first = write(d, 0);
      ranges.add(first);
      behind.written(first);
      damage(CS / 2); // on the device before the batch that holds it is read back
      Chunk.Range second = write(d, 1);
      ranges.add(second);
      behind.written(second); // the batch begins
      behind.stop();
      assertEquals(Optional.of(0L), behind.mismatch().map(Verifier.Mismatch::offset));
      // Repaired on the device, the result is still the difference that was seen.
      damage(CS / 2);
      Optional<Verifier.Mismatch> m =
          v.verify(d, ranges, (done, of) -> {}, behind).toCompletableFuture().get();
      assertEquals(Optional.of(0L), m.map(Verifier.Mismatch::offset));
      assertTrue(m.get().what().contains("differs"), m.get().what());
    }
  }
}
