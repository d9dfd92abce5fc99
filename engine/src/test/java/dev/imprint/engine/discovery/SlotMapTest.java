package dev.imprint.engine.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SlotMapTest {
  @TempDir Path tmp;

  @Test
  void labelsArmedFlagsAndLearning() throws IOException {
    Path f = tmp.resolve("slots.txt");
    Files.writeString(
        f, "# dock 1\nA1 pci-0000:00:14.0-usb-1-1 armed\nA2 pci-0000:00:14.0-usb-1-2\n");
    SlotMap m = SlotMap.read(f);
    assertEquals("A1", m.label("pci-0000:00:14.0-usb-1-1"));
    assertTrue(m.armed("pci-0000:00:14.0-usb-1-1"));
    assertFalse(m.armed("pci-0000:00:14.0-usb-1-2"));
    assertEquals("loop3", m.label("loop3"));
    assertEquals("A3", m.learn(f, "pci-0000:00:14.0-usb-1-3").label());
    assertEquals("A3", SlotMap.read(f).label("pci-0000:00:14.0-usb-1-3"));
  }

  @Test
  void aBadLineIsNamed() throws IOException {
    Path f = tmp.resolve("slots.txt");
    Files.writeString(f, "A1 x armd\n");
    IOException e = assertThrows(IOException.class, () -> SlotMap.read(f));
    assertTrue(e.getMessage().contains("line 1"), e.getMessage());
  }
}
