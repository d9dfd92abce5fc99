package dev.imprint.cli.station;

import dev.imprint.actors.station.SlotState;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.cli.output.Sizes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.AttributedString;
import org.jline.utils.AttributedStringBuilder;
import org.jline.utils.AttributedStyle;
import org.jline.utils.Display;
import org.jline.utils.InfoCmp;

/**
 * The full-screen board on a terminal: a header, one row per slot, totals and the latest notes.
 * JLine's {@link Display} redraws only what changed, so refreshing a few times a second does not
 * flicker. When the slots do not fit, the rows page every three seconds.
 */
final class StationBoard implements StationDisplay {
  private static final long PAGE_NANOS = 3_000_000_000L;

  private final Terminal terminal;
  private final Display display;
  private final BoardModel model = new BoardModel();
  private final String title;
  private final long startNanos = System.nanoTime();
  private boolean closed;

  StationBoard(Terminal terminal, String title) {
    this.terminal = terminal;
    this.title = title;
    this.display = new Display(terminal, true);
    terminal.puts(InfoCmp.Capability.enter_ca_mode);
    terminal.puts(InfoCmp.Capability.cursor_invisible);
    terminal.flush();
  }

  /** The board on this process's terminal, or null when there is none that JLine can drive. */
  static StationBoard open(String title) {
    try {
      Terminal t = TerminalBuilder.builder().system(true).dumb(false).build();
      if (Terminal.TYPE_DUMB.equals(t.getType()) || t.getSize().getColumns() <= 0) {
        t.close();
        return null;
      }
      return new StationBoard(t, title);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  @Override
  public void event(StationEvent e) {
    model.apply(e);
  }

  @Override
  public synchronized void tick() {
    if (closed) {
      return;
    }
    Size size = terminal.getSize();
    int cols = Math.max(40, size.getColumns());
    int height = Math.max(8, size.getRows());
    display.resize(height, cols);
    display.update(render(cols, height), -1);
  }

  /** The screen as lines: exactly what fits, so nothing scrolls the terminal itself. */
  List<AttributedString> render(int cols, int height) {
    List<AttributedString> lines = new ArrayList<>();
    long secs = (System.nanoTime() - startNanos) / 1_000_000_000L;
    String right =
        String.format(Locale.ROOT, "%d:%02d:%02d", secs / 3600, secs / 60 % 60, secs % 60);
    lines.add(
        bold(fit(fit("Imprint station  " + title, cols - right.length() - 1) + " " + right, cols)));
    lines.add(
        new AttributedString(
            fit(
                String.format(
                    Locale.ROOT,
                    "%-7s %-7s %-15s %8s %-9s %4s %5s %5s",
                    "SLOT",
                    "DEVICE",
                    "DRIVE",
                    "SIZE",
                    "STATE",
                    "%",
                    "MB/s",
                    "ETA"),
                cols),
            AttributedStyle.DEFAULT.underline()));
    List<BoardModel.Row> rows = model.rows();
    int space = height - 4;
    int pages = Math.max(1, (rows.size() + space - 1) / space);
    int page = (int) ((System.nanoTime() - startNanos) / PAGE_NANOS % pages);
    int from = page * space;
    for (int i = from; i < Math.min(rows.size(), from + space); i++) {
      lines.add(row(rows.get(i), cols));
    }
    while (lines.size() < height - 2) {
      lines.add(AttributedString.EMPTY);
    }
    String paging =
        pages > 1
            ? "  [slots "
                + (from + 1)
                + "-"
                + Math.min(rows.size(), from + space)
                + " of "
                + rows.size()
                + "]"
            : "";
    lines.add(bold(fit(model.totals() + paging, cols)));
    List<String> notes = model.notes();
    lines.add(new AttributedString(fit(notes.isEmpty() ? "" : notes.get(notes.size() - 1), cols)));
    return lines;
  }

  private static AttributedString row(BoardModel.Row r, int cols) {
    String head =
        String.format(
            Locale.ROOT,
            "%-7s %-7s %-15s %8s %-9s ",
            fit(BoardModel.shortLabel(r), 7),
            fit(r.drive.name(), 7),
            fit(BoardModel.who(r.drive), 15),
            Sizes.human(r.drive.size()),
            r.state.wireName());
    String tail;
    if (r.state == SlotState.WRITING || r.state == SlotState.VERIFYING) {
      long eta = r.eta();
      tail =
          String.format(
              Locale.ROOT,
              "%3d%% %5.1f %5s",
              r.percent(),
              r.rate / 1e6,
              eta < 0 ? "" : String.format(Locale.ROOT, "%d:%02d", eta / 60, eta % 60));
    } else {
      tail = BoardModel.result(r);
    }
    AttributedStyle style =
        switch (r.state) {
          case DONE -> AttributedStyle.DEFAULT.foreground(AttributedStyle.GREEN);
          case FAILED -> AttributedStyle.DEFAULT.foreground(AttributedStyle.RED);
          case IGNORED, REMOVED, READY -> AttributedStyle.DEFAULT.faint();
          default -> AttributedStyle.DEFAULT.foreground(AttributedStyle.YELLOW);
        };
    return new AttributedStringBuilder()
        .style(style)
        .append(fit(head + tail, cols))
        .toAttributedString();
  }

  private static AttributedString bold(String s) {
    return new AttributedString(s, AttributedStyle.BOLD);
  }

  private static String fit(String s, int width) {
    return s.length() <= width ? s : s.substring(0, Math.max(0, width - 1)) + "~";
  }

  @Override
  public void finished(boolean ok, String message, int exitCode) {
    close();
    terminal.writer().println(message);
    terminal.flush();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    tick();
    closed = true;
    terminal.puts(InfoCmp.Capability.cursor_visible);
    terminal.puts(InfoCmp.Capability.exit_ca_mode);
    terminal.flush();
    // What the board showed last stays readable after the alternate screen is gone.
    for (AttributedString l :
        render(terminal.getSize().getColumns(), Math.max(8, model.rows().size() + 4))) {
      terminal.writer().println(l.toAnsi(terminal));
    }
    terminal.flush();
  }
}
