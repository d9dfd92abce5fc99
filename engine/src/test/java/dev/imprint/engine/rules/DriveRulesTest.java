package dev.imprint.engine.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.discovery.Drive;
import dev.imprint.engine.discovery.SysfsFixture;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rules judged on the drives of a recorded sysfs tree. */
class DriveRulesTest {
  @TempDir Path tmp;
  private Map<String, Drive> drives;
  private static final DriveRules.SystemCheck SAFE = d -> Optional.empty();

  @BeforeEach
  void unpack() {
    drives =
        SysfsFixture.unpack(tmp).sysfs().scan().stream()
            .collect(Collectors.toMap(Drive::name, Function.identity()));
  }

  private static DriveRules rules(long needed, List<String> match, List<String> exclude) {
    return new DriveRules(
        needed,
        DriveRules.DEFAULT_MAX_SIZE,
        match.stream().map(Condition::parseAll).toList(),
        exclude.stream().map(Condition::parseAll).toList(),
        SAFE);
  }

  @Test
  void byDefaultTheUsbStickAndNotTheSataDiskOrTheOpticalDrive() {
    DriveRules r = rules(1 << 20, List.of(), List.of());
    assertTrue(r.judge(drives.get("sdb"), "A1").accepted());
    Verdict sata = r.judge(drives.get("sda"), "x");
    assertFalse(sata.accepted());
    assertTrue(sata.reason().contains("neither removable nor USB"), sata.reason());
    assertEquals("an optical drive, not a disk", r.judge(drives.get("sr0"), "x").reason());
  }

  @Test
  void tooSmallAndTooLargeAreRefusedWhateverMatches() {
    Drive stick = drives.get("sdb"); // 131.6 MB
    Verdict small = rules(1L << 30, List.of("bus=usb"), List.of()).judge(stick, "A1");
    assertTrue(small.reason().startsWith("too small: 131.6 MB"), small.reason());
    DriveRules tiny =
        new DriveRules(0, 64L << 20, List.of(Condition.parseAll("bus=usb")), List.of(), SAFE);
    assertTrue(tiny.judge(stick, "A1").reason().startsWith("too large"));
  }

  @Test
  void matchReplacesTheDefaultAndExcludeRemoves() {
    Drive sata = drives.get("sda");
    Drive stick = drives.get("sdb");
    DriveRules m = rules(0, List.of("model=ST9*,size>=10G"), List.of());
    assertTrue(m.judge(sata, "x").accepted());
    assertEquals("matches no --match", m.judge(stick, "x").reason());
    DriveRules x = rules(0, List.of(), List.of("vendor=generic"));
    assertEquals("excluded by --exclude vendor=generic", x.judge(stick, "x").reason());
    assertTrue(rules(0, List.of("label=A*"), List.of()).judge(stick, "A1").accepted());
    assertFalse(rules(0, List.of("bus!=usb"), List.of()).judge(stick, "A1").accepted());
  }

  @Test
  void theSystemCheckHasTheLastWord() {
    DriveRules r =
        new DriveRules(
            0, DriveRules.DEFAULT_MAX_SIZE, List.of(), List.of(), d -> Optional.of("mounted: x"));
    assertEquals("mounted: x", r.judge(drives.get("sdb"), "A1").reason());
  }

  @Test
  void badConditionsAreNamed() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Condition.parseAll("colour=red"));
    assertTrue(e.getMessage().contains("'colour=red'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Condition.parseAll("model<X"));
    assertThrows(IllegalArgumentException.class, () -> Condition.parseAll("size<=lots"));
    assertEquals(256L << 30, Condition.parseSize("256G"));
    assertEquals(2L << 40, Condition.parseSize("2TiB"));
  }
}
