package dev.imprint.engine.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Drive identity and slots read from a real recorded sysfs tree, and cases derived from it. */
class SysfsTest {
  @TempDir Path tmp;

  private static Map<String, Drive> byName(Sysfs s) {
    return s.scan().stream().collect(Collectors.toMap(Drive::name, Function.identity()));
  }

  @Test
  void theRecordedLaptop() {
    Map<String, Drive> d = byName(SysfsFixture.unpack(tmp).sysfs());
    Drive stick = d.get("sdb");
    assertEquals("usb", stick.transport());
    assertEquals("pci-0000:00:1d.7-usb-5-1", stick.slot());
    assertEquals("Generic", stick.vendor());
    assertEquals("USB Flash Drive", stick.model());
    assertEquals("", stick.serial(), "this stick has no serial, neither drive nor bridge");
    assertEquals("", stick.serialSource());
    assertEquals(257024L * 512, stick.size());
    assertTrue(stick.removable());
    assertEquals("8:16", stick.majorMinor());
    assertEquals(Path.of("/dev/sdb"), stick.node());

    Drive sata = d.get("sda");
    assertEquals("ata", sata.transport());
    assertEquals("pci-0000:00:1f.2-scsi-0:0:0:0", sata.slot());
    assertEquals("ST910021AS", sata.model());
    assertFalse(sata.removable());
    assertFalse(sata.optical());

    assertTrue(d.get("sr0").optical());
    assertEquals("loop", d.get("loop0").transport());
    assertEquals("loop0", d.get("loop0").slot(), "a loop device is its own slot");
    assertFalse(d.get("loop0").hasMedium());
    assertFalse(d.containsKey("sda1"), "partitions are not drives");
  }

  @Test
  void twoDrivesBehindBridgesWithTheSameSerialAreToldApartByTheirOwn() throws Exception {
    SysfsFixture f = SysfsFixture.unpack(tmp);
    f.copyUsbDrive("5-3", "sdc", "8:32");
    f.copyUsbDrive("5-4", "sdd", "8:48");
    f.bridgeSerial("5-3", "0123456789AB");
    f.bridgeSerial("5-4", "0123456789AB");
    f.driveSerial("5-3", "WD-WCC4E1234567");
    f.driveSerial("5-4", "WD-WCC4E7654321");
    Map<String, Drive> d = byName(f.sysfs());
    Drive c = d.get("sdc");
    Drive e = d.get("sdd");
    assertEquals("WD-WCC4E1234567", c.serial());
    assertEquals("WD-WCC4E7654321", e.serial());
    assertEquals("drive", c.serialSource());
    assertEquals("0123456789AB", c.bridgeSerial());
    assertEquals(c.bridgeSerial(), e.bridgeSerial());
    assertEquals("pci-0000:00:1d.7-usb-5-3", c.slot());
    assertEquals("pci-0000:00:1d.7-usb-5-4", e.slot());
  }

  @Test
  void aBridgeSerialStandsInWhenTheDriveSaysNothing() throws Exception {
    SysfsFixture f = SysfsFixture.unpack(tmp);
    f.copyUsbDrive("5-3", "sdc", "8:32");
    f.bridgeSerial("5-3", "AA00000000001234");
    Drive c = byName(f.sysfs()).get("sdc");
    assertEquals("AA00000000001234", c.serial());
    assertEquals("bridge", c.serialSource());
  }

  @Test
  void theUdevDatabaseFillsInTheDriveSerial() throws Exception {
    SysfsFixture f = SysfsFixture.unpack(tmp);
    f.udev("8:16", "ID_BUS=usb", "ID_SERIAL_SHORT=BRIDGE42", "ID_SCSI_SERIAL=DRIVE42");
    Drive stick = byName(f.sysfs()).get("sdb");
    assertEquals("DRIVE42", stick.serial());
    assertEquals("BRIDGE42", stick.bridgeSerial());
  }

  @Test
  void aDriveBehindAHubIsSlottedByItsFullPortPath() throws Exception {
    SysfsFixture f = SysfsFixture.unpack(tmp);
    f.copyUsbDrive("5-4/5-4.2", "sde", "8:64");
    Drive e = byName(f.sysfs()).get("sde");
    assertEquals("pci-0000:00:1d.7-usb-5-4.2", e.slot());
    assertNotEquals(byName(f.sysfs()).get("sdb").slot(), e.slot());
  }

  @Test
  void vpdPagesThatAreNotTheSerialPageAreIgnored() throws Exception {
    Path f = tmp.resolve("vpd");
    java.nio.file.Files.write(f, new byte[] {0, (byte) 0x83, 0, 2, 'x', 'y'});
    assertEquals("", Sysfs.vpdSerial(f));
  }
}
