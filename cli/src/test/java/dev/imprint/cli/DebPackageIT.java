package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian package the build made (cli/target/imprint_*_all.deb): installed with dpkg -i into
 * this system, its command runs --version and the sample restore, a user who is not root starts it
 * with the class-data archive the package made (-Xshare:on fails without one), then dpkg --purge
 * removes every trace. Runs after package (failsafe); needs root and dpkg.
 */
class DebPackageIT {
  @TempDir Path dir;

  @Test
  void installsRunsTheSampleRestoreAndRemovesCleanly() throws IOException {
    Root.assume(Root.isRoot(), "needs root (dpkg -i)");
    Root.assumeCommands("dpkg", "dpkg-deb", "sgdisk", "java");
    Path deb;
    try (Stream<Path> s = Files.list(Path.of("target"))) {
      deb =
          s.filter(p -> p.getFileName().toString().matches("imprint_.*_all\\.deb"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no imprint_*_all.deb in cli/target"));
    }
    // A real installation of imprint on this machine is not ours to replace.
    Cmd.Result before = Cmd.result("dpkg-query", "-W", "-f=${Status}", "imprint");
    Root.assume(!before.stdout().contains("installed"), "imprint is installed here already");

    try {
      Cmd.Result install = Cmd.result("dpkg", "-i", deb.toAbsolutePath().toString());
      assertEquals(0, install.exitCode(), install::toString);
      for (String f :
          List.of(
              "/usr/bin/imprint",
              "/usr/share/imprint/imprint.jar",
              "/usr/share/imprint/sample.imprint",
              "/usr/share/man/man1/imprint.1.gz",
              "/usr/share/bash-completion/completions/imprint",
              "/lib/systemd/system/imprint-station.service",
              "/lib/systemd/system/imprint-server@.service",
              "/lib/udev/rules.d/70-imprint-station.rules",
              "/etc/default/imprint-station",
              "/var/cache/imprint/imprint.jsa")) {
        assertTrue(Files.exists(Path.of(f)), f + " after dpkg -i");
      }
      String completion =
          Files.readString(Path.of("/usr/share/bash-completion/completions/imprint"));
      assertTrue(completion.contains("batch"), "the completion knows every command");

      Cmd.Result version = Cmd.result("/usr/bin/imprint", "--version");
      assertEquals(0, version.exitCode(), version::toString);
      assertTrue(version.stdout().startsWith("imprint " + Main.version()), version::toString);

      Path img = dir.resolve("sample.img");
      Cmd.Result restore =
          Cmd.result(
              "/usr/bin/imprint",
              "restore",
              "--source",
              "/usr/share/imprint/sample.imprint",
              "--target",
              img.toString(),
              "--erase",
              "--noprompt");
      assertEquals(0, restore.exitCode(), restore::toString);
      assertTrue(restore.stdout().contains("Restore completed successfully."), restore::toString);
      String gpt = Cmd.run("sgdisk", "-v", img.toString());
      assertTrue(gpt.contains("No problems found"), gpt);

      // Not root: /var/cache/imprint is read-only to them, and its archive is still used.
      Cmd.Result user =
          Cmd.result(
              "setpriv",
              "--reuid=65534",
              "--regid=65534",
              "--clear-groups",
              "env",
              "HOME=/nonexistent",
              "IMPRINT_JAVA_OPTS=-Xshare:on",
              "/usr/bin/imprint",
              "--version");
      assertEquals(0, user.exitCode(), user::toString);
    } finally {
      Cmd.Result purge = Cmd.result("dpkg", "--purge", "imprint");
      assertEquals(0, purge.exitCode(), purge::toString);
    }
    assertFalse(Files.exists(Path.of("/usr/bin/imprint")));
    assertFalse(Files.exists(Path.of("/var/cache/imprint")));
    assertFalse(Files.exists(Path.of("/etc/default/imprint-station")));
  }
}
