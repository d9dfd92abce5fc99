package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * create refuses, before writing anything, to write its image over its source (under any name), to
 * replace an existing file without --overwrite, and out-of-range option values.
 */
class CreateSafetyTest {
  @TempDir Path dir;

  private Path raw;
  private byte[] rawBytes;

  @BeforeEach
  void makeRaw() throws IOException {
    rawBytes = new byte[4 << 20];
    new Random(11).nextBytes(rawBytes);
    java.util.Arrays.fill(rawBytes, 0, 1 << 20, (byte) 0);
    raw = dir.resolve("disk.img");
    Files.write(raw, rawBytes);
  }

  private CliRun.Result create(Path source, Path output, String... more) {
    List<String> args =
        new java.util.ArrayList<>(
            List.of("create", "--source", source.toString(), "--output", output.toString()));
    args.addAll(List.of(more));
    return CliRun.run(args.toArray(String[]::new));
  }

  /** Exit 2, one line on stderr naming what was wrong, no stack trace. */
  private static void assertRefused(CliRun.Result r, String... fragments) {
    assertEquals(ExitCode.BAD_INPUT, r.code(), r::toString);
    String err = r.err().strip();
    assertEquals(1, err.lines().count(), () -> "want one line on stderr\n" + r);
    assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r::toString);
    for (String f : fragments) {
      assertTrue(
          err.toLowerCase(Locale.ROOT).contains(f), () -> "stderr should say " + f + "\n" + r);
    }
  }

  private void assertSourceIntact() throws IOException {
    assertArrayEquals(rawBytes, Files.readAllBytes(raw), "the source must not change");
  }

  /** No ".NAME.partial-*" files: nothing was started. */
  private void assertNoPartials() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".partial-")));
    }
  }

  @Test
  void outputEqualToSourceIsRefused() throws IOException {
    assertRefused(create(raw, raw), "is the source");
    // The same file through a relative path, a symlinked directory, a symlink and a hard link.
    Path rel = Path.of("").toAbsolutePath().relativize(raw);
    assertRefused(create(raw, rel), "is the source");
    Path linkDir = Files.createSymbolicLink(dir.resolve("via"), dir);
    assertRefused(create(raw, linkDir.resolve("disk.img")), "is the source");
    Path symlink = Files.createSymbolicLink(dir.resolve("link.imprint"), raw);
    assertRefused(create(raw, symlink), "is the source");
    Path hard = Files.createLink(dir.resolve("hard.imprint"), raw);
    assertRefused(create(raw, hard), "is the source");
    // --overwrite does not make it allowed.
    assertRefused(create(raw, raw, "--overwrite"), "is the source");
    assertSourceIntact();
    assertNoPartials();
  }

  @Test
  void existingOutputNeedsOverwrite() throws IOException {
    Path out = dir.resolve("old.imprint");
    byte[] old = "an older image".getBytes();
    Files.write(out, old);
    assertRefused(create(raw, out), "already exists", "--overwrite");
    assertArrayEquals(old, Files.readAllBytes(out), "the existing file must be kept");
    assertNoPartials();

    CliRun.Result ok = create(raw, out, "--overwrite");
    assertEquals(0, ok.code(), ok::toString);
    CliRun.Result info = CliRun.run("info", "--source", out.toString());
    assertEquals(0, info.code(), info::toString);
    assertSourceIntact();
  }

  @Test
  void outputThatIsNotAFileIsRefused() throws IOException {
    Path sub = Files.createDirectory(dir.resolve("images"));
    assertRefused(create(raw, sub), "is a directory");
    Path dangling = Files.createSymbolicLink(dir.resolve("dangling.imprint"), dir.resolve("none"));
    assertRefused(create(raw, dangling, "--overwrite"), "not a regular file");
    assertNoPartials();
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "-1", "-8", "1025", "100000"})
  void threadsOutOfRangeIsRefused(String n) throws IOException {
    Path out = dir.resolve("t.imprint");
    assertRefused(create(raw, out, "--threads", n), "--threads " + n, "out of range");
    assertFalse(Files.exists(out));
    assertNoPartials();
  }

  @Test
  void oneThreadWorks() throws IOException {
    Path out = dir.resolve("one.imprint");
    CliRun.Result r = create(raw, out, "--threads", "1");
    assertEquals(0, r.code(), r::toString);
    assertTrue(Files.size(out) > 0);
  }
}
