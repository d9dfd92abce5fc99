package dev.imprint.engine.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.Magic.Format;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Needs root and loop devices; skips without them (fails under IMPRINT_REQUIRE_ALL). */
class BlockDiskTest {
  private static final int SIZE = 4 << 20;

  @TempDir Path dir;

  @Test
  void readsALoopDeviceWhole() throws Exception {
    Root.assumeRoot();
    byte[] content = new byte[SIZE];
    new Random(11).nextBytes(content);
    // A compressed-looking start must not matter: a device is a disk.
    System.arraycopy(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd}, 0, content, 0, 4);
    Path backing = dir.resolve("backing.img");
    Files.write(backing, content);

    String device = run("losetup", "--find", "--show", backing.toString());
    try {
      try (BlockDisk disk = BlockDisk.open(Path.of(device))) {
        assertEquals(SIZE, disk.size());
        assertEquals(512, disk.sectorSize());
        assertTrue(disk.isBlockDevice());
        assertEquals(device, disk.description());
        assertEquals(List.of(new Extent(0, SIZE)), disk.dataExtents());

        ByteBuffer all = ByteBuffer.allocateDirect(SIZE + 4096);
        assertEquals(SIZE, disk.read(all, 0), "reads stop at the device's end");
        all.flip();
        byte[] read = new byte[SIZE];
        all.get(read);
        assertArrayEquals(content, read);

        ByteBuffer past = ByteBuffer.allocate(512);
        assertEquals(0, disk.read(past, SIZE));
      }
      assertEquals(Format.RAW, Sources.detect(device));
      try (DiskSource source = Sources.open(device)) {
        assertInstanceOf(BlockDisk.class, source);
      }
    } finally {
      assertEquals(0, new ProcessBuilder("losetup", "--detach", device).start().waitFor());
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, process.exitValue(), String.join(" ", command) + " failed: " + output);
    return output.trim();
  }
}
