package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imprint.engine.http.HttpOptions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** HTTP options: refused for other sources, and --retry-for given or not. */
class RemoteOptionsTest {
  @Command(name = "probe")
  static final class Probe {
    @Mixin RemoteOptions remote;
  }

  private static RemoteOptions parse(String... args) {
    Probe p = new Probe();
    new CommandLine(p).parseArgs(args);
    return p.remote;
  }

  @Test
  void httpOptionsWithAFileOrPipeSourceAreRefused() {
    UserError e =
        assertThrows(
            UserError.class, () -> parse("--connections", "8").requireHttp("/tmp/disk.imprint"));
    assertEquals(
        "--connections applies only to an http:// or https:// source, not to /tmp/disk.imprint:"
            + " drop it",
        e.getMessage());
    e =
        assertThrows(
            UserError.class,
            () -> parse("--header", "A: b", "--insecure", "--retry-for", "9").requireHttp("-"));
    assertEquals(
        "--header, --insecure, --retry-for apply only to an http:// or https:// source, not to"
            + " standard input: drop them",
        e.getMessage());
    e = assertThrows(UserError.class, () -> parse("--cacert", "/x.pem").requireHttp("/dev/sdb"));
    assertEquals(2, e.exitCode());
  }

  @Test
  void httpOptionsWithAnHttpSourceOrNoneGivenPass() {
    parse("--connections", "8", "--insecure").requireHttp("https://host/x.imprint");
    parse().requireHttp("/tmp/disk.imprint");
  }

  @Test
  void retryForGivenByNameAlsoCoversTheFirstContact() {
    HttpOptions byDefault = parse().http();
    assertEquals(Duration.ofSeconds(300), byDefault.retryBudget());
    assertEquals(Duration.ofSeconds(10), byDefault.firstContactBudget());
    HttpOptions asked = parse("--retry-for", "120").http();
    assertEquals(Duration.ofSeconds(120), asked.retryBudget());
    assertEquals(Duration.ofSeconds(120), asked.firstContactBudget());
  }
}
