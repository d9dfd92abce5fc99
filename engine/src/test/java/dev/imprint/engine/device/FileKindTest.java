package dev.imprint.engine.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileKindTest {
  @TempDir Path dir;

  @Test
  void namesWhatIsThere() throws IOException {
    Path file = Files.write(dir.resolve("disk.img"), new byte[4096]);
    assertEquals(FileKind.REGULAR_FILE, FileKind.of(file));
    assertEquals(FileKind.DIRECTORY, FileKind.of(dir));
    assertEquals(FileKind.MISSING, FileKind.of(dir.resolve("nothing")));
    assertEquals(FileKind.CHARACTER_DEVICE, FileKind.of(Path.of("/dev/null")));
    // Symlinks are followed; one to nothing is nothing.
    assertEquals(
        FileKind.REGULAR_FILE, FileKind.of(Files.createSymbolicLink(dir.resolve("l"), file)));
    assertEquals(
        FileKind.MISSING,
        FileKind.of(Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("gone"))));
    assertTrue(FileKind.REGULAR_FILE.holdsDisk());
    assertFalse(FileKind.CHARACTER_DEVICE.holdsDisk());
  }

  @Test
  void namesPipesAndBlockDevices() throws IOException {
    Root.assumeCommands("mkfifo");
    Path fifo = dir.resolve("fifo");
    Cmd.run("mkfifo", fifo.toString());
    assertEquals(FileKind.PIPE, FileKind.of(fifo));
    Root.assumeRoot();
    Path backing = Files.write(dir.resolve("backing.img"), new byte[1 << 20]);
    try (LoopDevice loop = LoopDevice.attach(backing)) {
      assertEquals(FileKind.BLOCK_DEVICE, FileKind.of(loop.path()));
      assertTrue(FileKind.BLOCK_DEVICE.holdsDisk());
    }
  }
}
