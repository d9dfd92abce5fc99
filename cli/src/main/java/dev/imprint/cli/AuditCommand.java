package dev.imprint.cli;

import dev.imprint.engine.audit.AuditLog;
import dev.imprint.engine.audit.AuditRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code imprint audit FILE --csv}: a station's audit log as one CSV row per drive job. */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    description = {
      "Export a station's audit log (docs/STATION.md): one row per drive job.",
      "",
      "Example:",
      "  imprint audit /var/lib/imprint/audit.jsonl --csv > drives.csv"
    })
final class AuditCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "FILE", description = "The audit log.")
  Path file;

  @Option(names = "--csv", description = "Write CSV (RFC 4180) to standard output.")
  boolean csv;

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(file)) {
      throw new UserError(file + " is not a file: give the audit log a station wrote (--audit)");
    }
    if (!csv) {
      throw new UserError("say how to export it: add --csv");
    }
    List<AuditRecord> records = AuditLog.read(file);
    Terminal.out().print(AuditLog.csv(records));
    Terminal.out().flush();
    return ExitCode.OK;
  }
}
