package dev.imprint.cli.output;

import java.util.Locale;

/** Human sizes for messages: decimal units, like disk vendors and asr print them. */
public final class Sizes {
  private Sizes() {}

  public static String human(long bytes) {
    if (bytes < 1000) {
      return bytes + " B";
    }
    String[] units = {"KB", "MB", "GB", "TB", "PB"};
    double v = bytes;
    int u = -1;
    while (v >= 1000 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return String.format(
        Locale.ROOT, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  }

  /** Parses 4M, 1MiB, 65536, 2G (binary multiples) for sizes like --chunk-size. */
  public static long parse(String text) {
    String t = text.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
    long mult = 1;
    if (!t.isEmpty()) {
      char last = t.charAt(t.length() - 1);
      mult =
          switch (last) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
          };
      if (mult != 1) {
        t = t.substring(0, t.length() - 1);
      }
    }
    try {
      return Long.parseLong(t.trim()) * mult;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a size: use e.g. 4M or 1048576");
    }
  }
}
