package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.ImageMutations;
import dev.imprint.engine.signing.Keys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile images through {@code info} and {@code imagescan}: fields set to hostile values with
 * their checksums recomputed, flipped bytes where only the full scan looks, and bad signatures.
 * Each is one line on stderr and exit 4, never a stack trace or an out-of-memory error.
 */
class HostileImageTest {
  @TempDir Path dir;

  private byte[] good(boolean signed) throws Exception {
    Path p = dir.resolve(signed ? "signed.imprint" : "good.imprint");
    ImageMutations.smallImage(p, signed ? Keys.generate() : null);
    return Files.readAllBytes(p);
  }

  private Path file(String name, byte[] bytes) throws Exception {
    return Files.write(dir.resolve(name), bytes);
  }

  private static void assertDamage(CliRun.Result r, String... fragments) {
    assertEquals(4, r.code(), r::toString);
    String err = r.err().strip();
    assertEquals(1, err.lines().count(), () -> "want one line on stderr\n" + r);
    assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r::toString);
    assertFalse(r.out().contains("\tat "), r::toString);
    for (String f : fragments) {
      assertTrue(err.toLowerCase(Locale.ROOT).contains(f.toLowerCase(Locale.ROOT)), r::toString);
    }
  }

  private static ImageMutations.Field field(ImageMutations m, String name) {
    return m.fields().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void aHugeChunkSizeOrSignatureLengthIsDamageNotAnOutOfMemoryError() throws Exception {
    ImageMutations m = new ImageMutations(good(false));
    Path chunk = file("chunk.imprint", m.with(field(m, "chunk size"), 1L << 30));
    Path sig = file("sig.imprint", m.with(field(m, "trailer signature length"), 0xffffffffL));
    for (String cmd : List.of("info", "imagescan")) {
      assertDamage(
          CliRun.run(cmd, "--source", chunk.toString()), "chunk size is 1073741824", "damaged");
      assertDamage(
          CliRun.run(cmd, "--source", sig.toString()), "signature block length", "damaged");
    }
  }

  @Test
  void aSweepOfHostileFieldsThroughTheCommands() throws Exception {
    ImageMutations m = new ImageMutations(good(false));
    List<ImageMutations.Mutant> all = m.all();
    List<String> wrong = new ArrayList<>();
    // Every 7th mutant through both commands: the engine test covers them all.
    for (int i = 0; i < all.size(); i += 7) {
      ImageMutations.Mutant mu = all.get(i);
      Path p = file("m.imprint", mu.bytes());
      CliRun.Result scan = CliRun.run("imagescan", "--source", p.toString());
      CliRun.Result info = CliRun.run("info", "--source", p.toString());
      for (CliRun.Result r : List.of(scan, info)) {
        boolean clean =
            r.err().strip().lines().count() <= 1
                && !r.err().contains("Exception")
                && !r.err().contains("\tat ")
                && (r.code() == 0 || r.code() == 4);
        if (!clean) {
          wrong.add(mu.what() + ": " + r);
        }
      }
      if (mu.mustRefuse() && scan.code() != 4) {
        wrong.add("imagescan accepted " + mu.what() + ": " + scan);
      }
    }
    assertTrue(wrong.isEmpty(), String.join("\n", wrong));
  }

  @Test
  void imagescanChecksWhatOnlyAPipeRestoreReads() throws Exception {
    byte[] good = good(false);
    ImageMutations m = new ImageMutations(good);
    // Byte flips, no checksum fixed: in the front header past its first 16 bytes, in a record of
    // the zero run, in the END record. The random-access reader never reads them; info passes.
    long zero = field(m, "record 2 at " + zeroRecord(m) + " disk offset").at();
    long end = field(m, "END record length").at();
    for (long at : List.of(20L, zero, end)) {
      byte[] b = good.clone();
      b[(int) at] ^= 0x10;
      Path p = file("flip-" + at + ".imprint", b);
      assertDamage(CliRun.run("imagescan", "--source", p.toString()), "damaged");
    }
  }

  private static long zeroRecord(ImageMutations m) {
    for (ImageMutations.Field f : m.fields()) {
      if (f.name().startsWith("record 2 at ") && f.name().endsWith(" magic")) {
        return f.at();
      }
    }
    throw new AssertionError("no zero record");
  }

  @Test
  void aSignatureThatFailsIsDamageToImagescan() throws Exception {
    byte[] signed = good(true);
    Path ok = file("ok.imprint", signed);
    assertEquals(0, CliRun.run("imagescan", "--source", ok.toString()).code());
    ImageMutations m = new ImageMutations(signed);
    Path bad = file("bad.imprint", m.with(field(m, "signature 0 bytes"), 0));
    assertDamage(CliRun.run("imagescan", "--source", bad.toString()), "signature", "verify");
    CliRun.Result info = CliRun.run("info", "--source", bad.toString());
    assertEquals(0, info.code(), info::toString);
    assertTrue(info.out().contains("INVALID"), info::toString);
  }

  @Test
  void aDamagedImageIsNeverRestoredAsARawDisk() throws Exception {
    byte[] b = good(false);
    b[3] ^= 0x01;
    Path img = file("magic.img", b);
    Path target = dir.resolve("target.img");
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            img.toString(),
            "--target",
            target.toString(),
            "--erase",
            "--noprompt");
    assertNotEquals(0, r.code(), r::toString);
    assertTrue(r.err().contains("header magic"), r::toString);
    assertFalse(Files.exists(target), "nothing written: " + r);
  }

  @Test
  void anEmptySourceIsRefused() throws Exception {
    Path empty = Files.createFile(dir.resolve("empty.img"));
    Path target = dir.resolve("target.img");
    Files.write(target, new byte[4096]);
    CliRun.Result r =
        CliRun.run(
            "restore",
            "--source",
            empty.toString(),
            "--target",
            target.toString(),
            "--erase",
            "--noprompt");
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().contains("is empty"), r::toString);
    assertEquals(4096, Files.size(target), "the target is untouched");
  }
}
