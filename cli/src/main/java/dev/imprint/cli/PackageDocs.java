package dev.imprint.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import picocli.AutoComplete;
import picocli.CommandLine;

/**
 * The man page and the bash completion that the Debian package installs, made at build time from
 * the commands themselves ({@code java -cp imprint.jar dev.imprint.cli.PackageDocs DIR}), so they
 * never fall behind a new option: {@code DIR/imprint.1} (troff, each command's {@code --help} as
 * its section) and {@code DIR/imprint.bash-completion} (picocli's generator).
 */
final class PackageDocs {
  private PackageDocs() {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    PrintStream none = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    CommandLine all = Main.commandLine(null, none, none);
    all.setUsageHelpWidth(100);
    Files.writeString(dir.resolve("imprint.bash-completion"), AutoComplete.bash("imprint", all));
    Files.writeString(dir.resolve("imprint.1"), manPage(all));
  }

  static String manPage(CommandLine all) {
    StringBuilder m = new StringBuilder();
    m.append(
        ".\\\" Generated from imprint's --help by dev.imprint.cli.PackageDocs; do not edit.\n");
    m.append(".TH IMPRINT 1 \"")
        .append(LocalDate.now(ZoneOffset.UTC))
        .append("\" \"imprint ")
        .append(Main.version())
        .append("\" \"User Commands\"\n");
    m.append(".SH NAME\nimprint \\- restore disk images to disks, fast and verified\n");
    m.append(".SH SYNOPSIS\n.B imprint\n.I COMMAND\n[\\fIOPTIONS\\fR]\n.br\n");
    m.append(
        ".B imprint \\-source\n.I IMAGE\n.B \\-target\n.I DEVICE\n.B \\-erase\n(asr's spelling)\n");
    m.append(".SH DESCRIPTION\n");
    preformatted(m, all.getUsageMessage(CommandLine.Help.Ansi.OFF));
    m.append(".SH COMMANDS\n");
    for (Map.Entry<String, CommandLine> e : all.getSubcommands().entrySet()) {
      if (e.getKey().equals("help")) {
        continue;
      }
      m.append(".SS imprint ").append(e.getKey()).append('\n');
      preformatted(m, e.getValue().getUsageMessage(CommandLine.Help.Ansi.OFF));
    }
    m.append(".SH EXIT STATUS\n");
    String[][] codes = {
      {"0", "everything succeeded"},
      {"1", "some targets failed (I/O error, disk full, device gone); the others finished"},
      {"2", "bad input or usage: nothing was written"},
      {"3", "verification failed on a target"},
      {"4", "the image is damaged, truncated or of a newer format version"},
      {"70", "internal error (a bug: see the log)"},
      {"130", "interrupted"}
    };
    for (String[] c : codes) {
      m.append(".TP\n.B ").append(c[0]).append('\n').append(escape(c[1])).append('\n');
    }
    m.append(".SH ENVIRONMENT\n");
    m.append(".TP\n.B IMPRINT_LOG\nthe log file (default ~/.cache/imprint/imprint.log)\n");
    m.append(
        ".TP\n.B IMPRINT_CACHE\nwhere the launcher keeps its class-data archive and native"
            + " libraries (default /var/cache/imprint when writable, else ~/.cache/imprint)\n");
    m.append(".TP\n.B IMPRINT_JAVA_OPTS\nextra options for the Java virtual machine\n");
    m.append(".SH FILES\n");
    m.append(
        ".TP\n.I /usr/share/imprint/sample.imprint\na small GPT disk image to try restore on\n");
    m.append(".TP\n.I /etc/default/imprint-station\nsettings of imprint\\-station.service\n");
    m.append(
        ".TP\n.I /lib/udev/rules.d/70-imprint-station.rules\nkeeps desktop automounters off"
            + " station drives\n");
    m.append(".SH SEE ALSO\n.BR asr (8),\n.BR sgdisk (8),\n.BR blkid (8)\n");
    return m.toString();
  }

  /** Text as is, in a no-fill block, with troff's special characters escaped. */
  private static void preformatted(StringBuilder m, String text) {
    m.append(".nf\n");
    for (String line : text.stripTrailing().split("\n", -1)) {
      String l = escape(line);
      if (l.startsWith(".") || l.startsWith("'")) {
        l = "\\&" + l;
      }
      m.append(l).append('\n');
    }
    m.append(".fi\n");
  }

  private static String escape(String s) {
    return s.replace("\\", "\\e").replace("-", "\\-");
  }
}
