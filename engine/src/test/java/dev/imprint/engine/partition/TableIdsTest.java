package dev.imprint.engine.partition;

import static dev.imprint.engine.partition.TableFixtures.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.FileDisk;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --new-ids} on partition tables, checked by sgdisk and sfdisk: every GUID new, both GPT
 * copies alike and their CRCs right, everything else as it was; a damaged table is not touched.
 */
class TableIdsTest {
  @TempDir Path dir;

  @BeforeEach
  void tools() {
    TableFixtures.assumeTools();
  }

  private static TableIds.Renewed renew(Path file, long seed) throws IOException {
    TableIds.Renewed r;
    try (FileDisk disk = FileDisk.open(file)) {
      r = TableIds.renew(disk, new Random(seed));
    }
    for (GptRelocation.Write w : r.writes()) {
      TableFixtures.write(file, w.offset(), w.bytes());
    }
    return r;
  }

  @Test
  void gptGetsNewGuidsInBothCopiesAndKeepsTheRest() throws IOException {
    Path file = TableFixtures.threePartitionGpt(dir.resolve("gpt.img"), 64 * MIB, "0");
    PartitionTable before = TableFixtures.read(file);
    List<TableFixtures.SgdiskInfo> infoBefore =
        List.of(
            TableFixtures.sgdiskInfo(file, 1),
            TableFixtures.sgdiskInfo(file, 2),
            TableFixtures.sgdiskInfo(file, 3));

    TableIds.Renewed r = renew(file, 7);

    assertTrue(
        TableFixtures.verify(file).contains("No problems found"), TableFixtures.verify(file));
    PartitionTable after = TableFixtures.read(file);
    assertEquals(List.of(), after.problems());
    assertEquals(r.diskId(), after.diskId());
    assertNotEquals(before.diskId(), after.diskId());
    assertTrue(TableFixtures.sgdisk(file, "-p").contains("Disk identifier (GUID): " + r.diskId()));
    Set<String> guids = new HashSet<>();
    for (int n = 1; n <= 3; n++) {
      TableFixtures.SgdiskInfo was = infoBefore.get(n - 1);
      TableFixtures.SgdiskInfo now = TableFixtures.sgdiskInfo(file, n);
      assertEquals(r.partitionGuids().get(n), now.uniqueGuid());
      assertNotEquals(was.uniqueGuid(), now.uniqueGuid());
      assertTrue(guids.add(now.uniqueGuid()));
      assertEquals(was.typeGuid(), now.typeGuid());
      assertEquals(was.first(), now.first());
      assertEquals(was.last(), now.last());
      assertEquals(was.attributes(), now.attributes());
      assertEquals(was.name(), now.name());
      // Version 4, RFC 4122 variant, as printed.
      assertEquals('4', now.uniqueGuid().charAt(14), now.uniqueGuid());
      assertTrue("89AB".indexOf(now.uniqueGuid().charAt(19)) >= 0, now.uniqueGuid());
    }
    // The backup alone says the same: wipe the primary header and read again.
    Path copy = dir.resolve("copy.img");
    java.nio.file.Files.copy(file, copy);
    TableFixtures.write(copy, 512, new byte[512]);
    PartitionTable fromBackup = TableFixtures.read(copy);
    assertEquals(after.diskId(), fromBackup.diskId());
    assertEquals(after.entries(), fromBackup.entries());
  }

  @Test
  void mbrGetsANewDiskSignature() throws IOException {
    Path file = TableFixtures.sparseFile(dir.resolve("mbr.img"), 32 * MIB);
    TableFixtures.sfdisk(
        file, "label: dos\nlabel-id: 0x1234abcd\nstart=2048, size=20480, type=83\ntype=c\n");
    var dumpBefore = TableFixtures.sfdiskDump(file);

    TableIds.Renewed r = renew(file, 9);

    assertEquals(PartitionScheme.MBR, r.scheme());
    assertNotEquals("1234ABCD", r.diskId());
    String dump = dev.imprint.engine.testing.Cmd.run("sfdisk", "-d", file.toString());
    assertTrue(dump.contains("label-id: 0x" + r.diskId().toLowerCase()), dump);
    assertEquals(dumpBefore, TableFixtures.sfdiskDump(file));
  }

  @Test
  void aDamagedTableIsLeftAlone() throws IOException {
    Path file = TableFixtures.threePartitionGpt(dir.resolve("gpt.img"), 64 * MIB, "0");
    byte[] header = TableFixtures.bytes(file, 512, 512);
    header[88] ^= 1; // the entries CRC field: the header's own CRC no longer holds
    TableFixtures.write(file, 512, header);
    try (FileDisk disk = FileDisk.open(file)) {
      assertThrows(PartitionException.class, () -> TableIds.renew(disk, new Random(1)));
    }
  }
}
