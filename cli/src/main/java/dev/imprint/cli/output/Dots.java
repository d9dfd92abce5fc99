package dev.imprint.cli.output;

import java.io.PrintStream;

/** asr's progress line: {@code Restoring ....10....20....} up to 100, a dot every 2%. */
final class Dots {
  private final PrintStream out;
  private int printed = -1;
  private boolean open;

  Dots(PrintStream out) {
    this.out = out;
  }

  void start(String label) {
    end();
    out.print(label + "  ");
    out.flush();
    printed = 0;
    open = true;
  }

  void update(long done, long total) {
    if (!open || total <= 0) {
      return;
    }
    int pct = (int) Math.min(100, done * 100 / total);
    boolean any = false;
    while (printed + 2 <= pct) {
      printed += 2;
      out.print(printed % 10 == 0 ? String.valueOf(printed) : ".");
      any = true;
    }
    if (any) {
      out.flush();
    }
  }

  void end() {
    if (open) {
      out.println();
      open = false;
    }
  }

  boolean open() {
    return open;
  }
}
