package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The systemd units and the udev rule in conf/: systemd-analyze verifies the units (with the
 * launcher of this tree standing in for /usr/bin/imprint, which verify insists exists) and must
 * print nothing, not even a warning about an unknown key; the rule's lines are udev syntax.
 */
class ServiceFilesTest {
  private static final Path CONF = Path.of("../conf").toAbsolutePath().normalize();

  @TempDir Path dir;

  private Path unitCopy(String name, String as) throws IOException {
    String text =
        Files.readString(CONF.resolve(name))
            .replace("/usr/bin/imprint", CONF.getParent().resolve("imprint").toString())
            // verify reads an environment file only if it is there; these live on the station.
            .replaceAll("(?m)^EnvironmentFile=(.*)$", "EnvironmentFile=-$1");
    Path p = dir.resolve(as);
    Files.writeString(p, text);
    return p;
  }

  @Test
  void systemdAnalyzeVerifiesTheUnitsWithoutAWord() throws IOException {
    Root.assume(Cmd.exists("systemd-analyze"), "needs systemd-analyze (systemd)");
    Path station = unitCopy("imprint-station.service", "imprint-station.service");
    Path server = unitCopy("imprint-server@.service", "imprint-server@golden.service");
    Cmd.Result r =
        Cmd.result("systemd-analyze", "verify", "--man=no", station.toString(), server.toString());
    assertEquals(0, r.exitCode(), r::toString);
    assertEquals("", (r.stdout() + r.stderr()).strip(), r::toString);
  }

  @Test
  void theUnitsAreHardenedAndWaitForRunningJobs() throws IOException {
    String station = Files.readString(CONF.resolve("imprint-station.service"));
    for (String line :
        List.of(
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "ProtectSystem=strict",
            "CapabilityBoundingSet=CAP_SYS_ADMIN CAP_SYS_RAWIO CAP_DAC_READ_SEARCH",
            "TimeoutStopSec=2h",
            "KillMode=mixed")) {
      assertTrue(station.lines().anyMatch(line::equals), line);
    }
    String server = Files.readString(CONF.resolve("imprint-server@.service"));
    for (String line : List.of("DynamicUser=yes", "CapabilityBoundingSet=", "PrivateDevices=yes")) {
      assertTrue(server.lines().anyMatch(line::equals), line);
    }
  }

  @Test
  void theUdevRuleIsUdevSyntaxAndKeepsUdisksOff() throws IOException {
    List<String> rules =
        Files.readAllLines(CONF.resolve("70-imprint-station.rules")).stream()
            .filter(l -> !l.isBlank() && !l.startsWith("#"))
            .toList();
    assertEquals(1, rules.size(), rules::toString);
    Pattern pair = Pattern.compile("(ACTION|SUBSYSTEM|KERNEL|ENV\\{[A-Z_]+\\})(==|!=|=)\"[^\"]*\"");
    for (String rule : rules) {
      for (String part : rule.split(",\\s*")) {
        assertTrue(pair.matcher(part).matches(), part);
      }
      assertTrue(rule.contains("ENV{UDISKS_IGNORE}=\"1\""), rule);
      assertTrue(rule.contains("ENV{UDISKS_AUTO}=\"0\""), rule);
    }
  }
}
