package dev.imprint.engine.partition;

import static dev.imprint.engine.partition.TableFixtures.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.Extent;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GptRelocationTest {
  @TempDir Path dir;

  @BeforeEach
  void tools() {
    TableFixtures.assumeTools();
  }

  /** Copies the first {@code length} bytes of {@code image} into a fresh {@code size}-byte file. */
  private Path copy(Path image, long length, long size, String name) throws IOException {
    Path target = TableFixtures.sparseFile(dir.resolve(name), size);
    try (InputStream in = Files.newInputStream(image);
        OutputStream out = Files.newOutputStream(target, java.nio.file.StandardOpenOption.WRITE)) {
      byte[] buf = new byte[1 << 20];
      long left = length;
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          break;
        }
        out.write(buf, 0, n);
        left -= n;
      }
    }
    return target;
  }

  private static byte[] primaryRegion(Path image, PartitionTable t) throws IOException {
    Extent r = t.gptPrimaryRegion();
    return TableFixtures.bytes(image, r.offset(), (int) r.length());
  }

  private static void apply(Path target, List<GptRelocation.Write> writes) throws IOException {
    for (GptRelocation.Write w : writes) {
      TableFixtures.write(target, w.offset(), w.bytes());
    }
  }

  /** Partition lines of {@code sgdisk -p}: number, start, end, size, code, name. */
  private static List<String> partitionLines(Path file) {
    return TableFixtures.sgdisk(file, "-p")
        .lines()
        .dropWhile(l -> !l.startsWith("Number"))
        .skip(1)
        .filter(l -> !l.isBlank())
        .toList();
  }

  @Test
  void relocatesToALargerDisk() throws IOException {
    Path image = TableFixtures.threePartitionGpt(dir.resolve("image.img"), 64 * MIB, "0");
    PartitionTable t = TableFixtures.read(image);
    Path target = copy(image, 64 * MIB, 100 * MIB, "target.img");
    assertFalse(TableFixtures.verify(target).contains("No problems found"), "a plain copy is off");

    apply(target, GptRelocation.relocate(primaryRegion(image, t), 512, 64 * MIB, 100 * MIB));

    assertTrue(
        TableFixtures.verify(target).contains("No problems found"), TableFixtures.verify(target));
    assertEquals(partitionLines(image), partitionLines(target));
    String print = TableFixtures.sgdisk(target, "-p");
    assertTrue(print.contains(": 204800 sectors, 100.0 MiB"), print);
    assertTrue(print.contains("last usable sector is 204766"), print);
    PartitionTable moved = TableFixtures.read(target);
    assertEquals(List.of(), moved.problems());
    assertEquals(t.entries(), moved.entries());
    assertEquals(t.diskId(), moved.diskId());
    // The old backup no longer lingers mid-disk.
    assertArrayEquals(
        new byte[33 * 512], TableFixtures.bytes(target, 64 * MIB - 33 * 512, 33 * 512));
    // Protective MBR: one 0xEE entry from LBA 1 to the end.
    byte[] mbr = TableFixtures.bytes(target, 0, 512);
    assertEquals(204799, MbrReader.le32(mbr, 446 + 12));
  }

  @Test
  void relocatesToASmallerDisk() throws IOException {
    Path image = TableFixtures.threePartitionGpt(dir.resolve("image.img"), 100 * MIB, "122879");
    PartitionTable t = TableFixtures.read(image);
    assertEquals(60 * MIB, t.entries().get(2).end());
    assertEquals(Optional.empty(), GptRelocation.fitsProblem(t, 60 * MIB, 80 * MIB));
    Path target = copy(image, 80 * MIB, 80 * MIB, "target.img");

    apply(target, GptRelocation.relocate(primaryRegion(image, t), 512, 100 * MIB, 80 * MIB));

    assertTrue(
        TableFixtures.verify(target).contains("No problems found"), TableFixtures.verify(target));
    assertEquals(partitionLines(image), partitionLines(target));
    assertEquals(t.entries(), TableFixtures.read(target).entries());
  }

  @Test
  void fitsProblemNamesThePartitionCrossingTheEnd() throws IOException {
    Path image = TableFixtures.threePartitionGpt(dir.resolve("image.img"), 100 * MIB, "122879");
    PartitionTable t = TableFixtures.read(image);

    Optional<String> problem = GptRelocation.fitsProblem(t, 60 * MIB, 50 * MIB);
    assertEquals(
        Optional.of(
            "partition 3 (\"dätä x\") ends at byte 62914560 but a 52428800-byte target has room"
                + " up to byte 52411904 (16896 bytes at the end hold the backup GPT); the target"
                + " needs at least 62931456 bytes"),
        problem);
    // Exactly enough room, and one sector too little.
    assertEquals(Optional.empty(), GptRelocation.fitsProblem(t, 0, 60 * MIB + 33 * 512));
    assertTrue(GptRelocation.fitsProblem(t, 0, 60 * MIB + 32 * 512).isPresent());
    // Data outside the partitions counts too.
    assertTrue(
        GptRelocation.fitsProblem(t, 70 * MIB, 65 * MIB)
            .orElseThrow()
            .startsWith("the image holds data up to byte 73400320"));

    PartitionException e =
        assertThrows(
            PartitionException.class,
            () -> GptRelocation.relocate(primaryRegion(image, t), 512, 100 * MIB, 50 * MIB));
    assertTrue(
        e.getMessage().startsWith("partition 3 (\"dätä x\") ends at LBA 122879"), e.getMessage());
    assertTrue(e.getMessage().endsWith("needs at least 62931456 bytes"), e.getMessage());
  }

  @Test
  void growsTheLastPartitionToTheLastUsableLba() throws IOException {
    Path image = TableFixtures.threePartitionGpt(dir.resolve("image.img"), 64 * MIB, "0");
    PartitionTable t = TableFixtures.read(image);
    Path target = copy(image, 64 * MIB, 100 * MIB, "target.img");

    apply(
        target,
        GptRelocation.relocateGrowingLast(primaryRegion(image, t), 512, 64 * MIB, 100 * MIB));

    assertTrue(
        TableFixtures.verify(target).contains("No problems found"), TableFixtures.verify(target));
    TableFixtures.SgdiskInfo last = TableFixtures.sgdiskInfo(target, 3);
    assertEquals(204766, last.last());
    PartitionTable grown = TableFixtures.read(target);
    assertEquals(List.of(), grown.problems());
    assertEquals(204766, grown.lastUsableLba());
    assertEquals((204766 + 1) * 512L, grown.entries().get(2).end());
    assertEquals(t.entries().subList(0, 2), grown.entries().subList(0, 2));
    assertEquals(t.entries().get(2).label(), grown.entries().get(2).label());
  }

  @Test
  void refusesADamagedPrimary() throws IOException {
    Path image = TableFixtures.threePartitionGpt(dir.resolve("image.img"), 64 * MIB, "0");
    PartitionTable t = TableFixtures.read(image);
    byte[] region = primaryRegion(image, t);
    region[1024 + 56] ^= 1;
    PartitionException e =
        assertThrows(
            PartitionException.class,
            () -> GptRelocation.relocate(region, 512, 64 * MIB, 100 * MIB));
    assertEquals(
        "cannot relocate the image's primary GPT: partition entries CRC mismatch", e.getMessage());
    assertEquals(PartitionScheme.GPT, t.scheme());
  }
}
