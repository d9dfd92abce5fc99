package dev.imprint.engine.partition;

import static dev.imprint.engine.partition.TableFixtures.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.partition.TableFixtures.SfdiskLine;
import dev.imprint.engine.partition.TableFixtures.SgdiskInfo;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionTablesTest {
  private static final String MBR_SCRIPT =
      "label: dos\n"
          + "label-id: 0x1234abcd\n"
          + "start=2048, size=20480, type=83, bootable\n"
          + "start=22528, size=20480, type=c\n"
          + "start=43008, type=5\n"
          + "start=45056, size=10240, type=83\n"
          + "size=10240, type=82\n"
          + "type=83\n";

  @TempDir Path dir;

  @BeforeEach
  void tools() {
    TableFixtures.assumeTools();
  }

  private Path gpt() throws IOException {
    return TableFixtures.threePartitionGpt(dir.resolve("gpt.img"), 64 * MIB, "0");
  }

  @Test
  void gptPartitionsMatchSgdisk() throws IOException {
    Path file = gpt();
    PartitionTable t = TableFixtures.read(file);

    assertEquals(PartitionScheme.GPT, t.scheme());
    assertEquals(List.of(), t.problems());
    assertEquals(512, t.sectorSize());
    assertEquals(3, t.entries().size());
    String diskGuid =
        TableFixtures.sgdisk(file, "-p")
            .lines()
            .filter(l -> l.startsWith("Disk identifier (GUID): "))
            .findFirst()
            .orElseThrow()
            .substring("Disk identifier (GUID): ".length());
    assertEquals(diskGuid, t.diskId());
    for (PartitionEntry e : t.entries()) {
      SgdiskInfo info = TableFixtures.sgdiskInfo(file, e.number());
      assertEquals(info.typeGuid(), e.type(), "type of " + e.number());
      assertEquals(info.uniqueGuid(), e.uniqueGuid(), "GUID of " + e.number());
      assertEquals(info.first() * 512, e.offset(), "offset of " + e.number());
      assertEquals((info.last() - info.first() + 1) * 512, e.length(), "length of " + e.number());
      assertEquals(info.attributes(), e.attributes(), "attributes of " + e.number());
      assertEquals(info.name(), e.label(), "name of " + e.number());
      assertFalse(e.logical());
    }
    assertEquals("dätä x", t.entries().get(2).label());
    assertEquals(1L, t.entries().get(0).attributes());
    assertEquals(1L << 63, t.entries().get(1).attributes());
    assertEquals(34, t.firstUsableLba());
    assertEquals(64 * MIB / 512 - 34, t.lastUsableLba());
    assertEquals(128, t.entryCount());
    assertEquals(128, t.entrySize());
    assertEquals(new Extent(0, 34 * 512), t.gptPrimaryRegion());
    assertEquals(
        List.of(new Extent(0, 34 * 512), new Extent(64 * MIB - 33 * 512, 33 * 512)),
        t.tableRegions());
    // Between the primary entries and partition 1 at 1 MiB: where a BIOS bootloader may hide.
    assertEquals(List.of(new Extent(34 * 512, MIB - 34 * 512)), t.bootGaps());
  }

  @Test
  void protectiveMbrIsNotAPartition() throws IOException {
    Path file = gpt();
    byte[] mbr = TableFixtures.bytes(file, 0, 512);
    assertEquals((byte) 0xEE, mbr[446 + 4], "sgdisk writes a protective MBR");
    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.GPT, t.scheme());
    assertTrue(t.entries().stream().noneMatch(e -> e.type().equals("EE")));
    assertTrue(t.tableRegions().get(0).offset() == 0);

    // The same GPT without its protective MBR is ignored, as the kernel ignores it.
    TableFixtures.write(file, 0, new byte[512]);
    PartitionTable bare = TableFixtures.read(file);
    assertEquals(PartitionScheme.NONE, bare.scheme());
    assertTrue(bare.problems().get(0).contains("no MBR signature"), bare.problems().toString());
  }

  @Test
  void gptIn4096ByteSectorsIsFoundInAFileThatSays512() throws IOException {
    Root.assumeRoot();
    Path file = TableFixtures.sparseFile(dir.resolve("4kn.img"), 64 * MIB);
    String loop = Cmd.run("losetup", "--find", "--show", "--sector-size", "4096", file.toString());
    try {
      Cmd.run("sgdisk", "-n", "1:0:+8M", "-c", "1:one", "-n", "2:0:0", "-c", "2:two", loop);
    } finally {
      Cmd.run("losetup", "-d", loop);
    }
    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.GPT, t.scheme());
    assertEquals(List.of(), t.problems());
    assertEquals(4096, t.sectorSize());
    assertEquals(List.of("one", "two"), t.entries().stream().map(PartitionEntry::label).toList());
    assertEquals(8 * MIB, t.entries().get(0).length());
    assertEquals(64 * MIB / 4096 - 6, t.lastUsableLba()); // 4 sectors of entries + header
  }

  @Test
  void mbrWithLogicalPartitionsMatchesSfdisk() throws IOException {
    Path file = TableFixtures.sparseFile(dir.resolve("mbr.img"), 64 * MIB);
    TableFixtures.sfdisk(file, MBR_SCRIPT);
    List<SfdiskLine> dump = TableFixtures.sfdiskDump(file);
    PartitionTable t = TableFixtures.read(file);

    assertEquals(PartitionScheme.MBR, t.scheme());
    assertEquals(List.of(), t.problems());
    assertEquals("1234ABCD", t.diskId());
    assertEquals(
        List.of(1, 2, 3, 5, 6, 7), t.entries().stream().map(PartitionEntry::number).toList());
    assertEquals(dump.size(), t.entries().size());
    for (int i = 0; i < dump.size(); i++) {
      SfdiskLine want = dump.get(i);
      PartitionEntry got = t.entries().get(i);
      assertEquals(want.number(), got.number());
      assertEquals(want.start() * 512, got.offset(), "offset of " + want.number());
      assertEquals(want.size() * 512, got.length(), "length of " + want.number());
      assertEquals(want.type(), Integer.parseInt(got.type(), 16), "type of " + want.number());
      assertEquals(want.bootable() ? 0x80 : 0, got.attributes());
      assertEquals(want.number() >= 5, got.logical());
      assertEquals("", got.label());
      assertEquals("", got.uniqueGuid());
    }
    assertEquals("0C", t.entries().get(1).type());
    assertTrue(t.entries().get(2).isContainer());
    // The MBR and three EBRs, each right before its logical partition's 1 MiB alignment gap.
    assertEquals(
        List.of(
            new Extent(0, 512),
            new Extent(43008 * 512, 512),
            new Extent(55296 * 512, 512),
            new Extent(67584 * 512, 512)),
        t.tableRegions());
    List<Extent> gaps = t.bootGaps();
    assertEquals(new Extent(512, 2047 * 512), gaps.get(0));
    assertTrue(gaps.contains(new Extent(43009 * 512, (45056 - 43009) * 512)), gaps.toString());
  }

  @Test
  void corruptPrimaryHeaderCrcFallsBackToTheBackup() throws IOException {
    Path file = gpt();
    PartitionTable clean = TableFixtures.read(file);
    TableFixtures.flipByte(file, 512 + 16); // the header CRC field itself

    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.GPT, t.scheme());
    assertEquals(clean.entries(), t.entries());
    assertEquals(clean.diskId(), t.diskId());
    assertEquals(1, t.problems().size(), t.problems().toString());
    assertTrue(
        t.problems().get(0).contains("primary GPT header CRC mismatch"), t.problems().get(0));
    assertTrue(t.problems().get(0).endsWith("backup header used"), t.problems().get(0));
  }

  @Test
  void corruptPrimaryEntriesFallBackToTheBackup() throws IOException {
    Path file = gpt();
    PartitionTable clean = TableFixtures.read(file);
    TableFixtures.flipByte(file, 1024 + 56); // first letter of partition 1's name

    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.GPT, t.scheme());
    assertEquals(clean.entries(), t.entries());
    assertEquals(
        List.of("primary GPT partition entries CRC mismatch; backup header used"), t.problems());
  }

  @Test
  void corruptBackupIsReportedWhileThePrimaryServes() throws IOException {
    Path file = gpt();
    TableFixtures.flipByte(file, 64 * MIB - 512 + 16);
    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.GPT, t.scheme());
    assertEquals(3, t.entries().size());
    assertEquals(1, t.problems().size(), t.problems().toString());
    assertTrue(t.problems().get(0).startsWith("backup GPT header CRC mismatch"));
  }

  @Test
  void bothCopiesCorruptMeansNoTable() throws IOException {
    Path file = gpt();
    TableFixtures.flipByte(file, 512 + 16);
    TableFixtures.flipByte(file, 64 * MIB - 512 + 16);
    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.NONE, t.scheme());
    assertEquals(List.of(), t.entries());
    assertEquals(2, t.problems().size(), t.problems().toString());
    assertTrue(t.problems().get(1).endsWith("no usable GPT remains"));
  }

  @Test
  void overlappingMbrEntriesAreAProblem() throws IOException {
    Path file = TableFixtures.sparseFile(dir.resolve("overlap.img"), 64 * MIB);
    TableFixtures.sfdisk(
        file,
        "label: dos\nstart=2048, size=20480, type=83\nstart=22528, size=20480, type=83\n"
            + "start=43008, size=20480, type=83\n");
    // Stretch partition 2 (entry 2's sector count) over the start of partition 3.
    TableFixtures.write(file, 446 + 16 + 12, new byte[] {0, 0x60, 0, 0}); // 24576 sectors
    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.MBR, t.scheme());
    assertEquals(List.of("partitions 2 and 3 overlap"), t.problems());
  }

  @Test
  void ebrChainThatLoopsStops() throws IOException {
    Path file = TableFixtures.sparseFile(dir.resolve("loop.img"), 64 * MIB);
    TableFixtures.sfdisk(file, MBR_SCRIPT);
    // Point the second EBR's link back at the first EBR (offset 0 within the extended partition).
    TableFixtures.write(file, 55296L * 512 + 446 + 16 + 8, new byte[4]);
    PartitionTable t = TableFixtures.read(file);
    assertEquals(List.of(1, 2, 3, 5, 6), t.entries().stream().map(PartitionEntry::number).toList());
    assertEquals(List.of("EBR chain of partition 3 loops back to LBA 43008"), t.problems());
  }

  @Test
  void blankDiskHasNoTable() throws IOException {
    Path file = TableFixtures.sparseFile(dir.resolve("blank.img"), 8 * MIB);
    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.NONE, t.scheme());
    assertEquals(List.of(), t.problems());
    assertEquals(List.of(), t.entries());
    assertEquals(List.of(), t.tableRegions());
    assertEquals(List.of(), t.bootGaps());
  }

  @Test
  void bootSectorWithGarbageStatusIsNotAnMbr() throws IOException {
    Path file = TableFixtures.sparseFile(dir.resolve("vbr.img"), 8 * MIB);
    byte[] sector = new byte[512];
    sector[0] = (byte) 0xEB;
    sector[1] = 0x3C;
    sector[2] = (byte) 0x90;
    sector[446] = 0x41; // boot code text where an MBR keeps its first status byte
    sector[510] = 0x55;
    sector[511] = (byte) 0xAA;
    TableFixtures.write(file, 0, sector);
    PartitionTable t = TableFixtures.read(file);
    assertEquals(PartitionScheme.NONE, t.scheme());
    assertTrue(t.problems().get(0).contains("status byte 0x41"), t.problems().toString());
  }
}
