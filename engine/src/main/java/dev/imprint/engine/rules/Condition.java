package dev.imprint.engine.rules;

import dev.imprint.engine.discovery.Drive;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One condition on a drive, as written after {@code --match} or {@code --exclude}: {@code
 * KEY=GLOB}, {@code KEY!=GLOB}, or for {@code size} a comparison ({@code size<=256G}). Keys: bus
 * (transport), name, model, vendor, serial, slot, label, backing (a loop device's file), removable
 * (yes/no), size. Globs use {@code *} and {@code ?} and ignore case.
 */
public record Condition(String key, String op, String value, String text) {
  private static final List<String> KEYS =
      List.of(
          "bus",
          "name",
          "model",
          "vendor",
          "serial",
          "slot",
          "label",
          "backing",
          "removable",
          "size");
  private static final Pattern FORM = Pattern.compile("([a-z]+)\\s*(<=|>=|!=|=|<|>)\\s*(.*)");

  /**
   * Parses a comma-separated list of conditions that must all hold ({@code bus=usb,size<=64G}).
   *
   * @throws IllegalArgumentException with a message naming the bad condition and the fix
   */
  public static List<Condition> parseAll(String text) {
    List<Condition> out = new ArrayList<>();
    for (String part : text.split(",")) {
      out.add(parse(part.trim()));
    }
    return out;
  }

  public static Condition parse(String text) {
    var m = FORM.matcher(text);
    if (!m.matches() || !KEYS.contains(m.group(1))) {
      throw new IllegalArgumentException(
          "'"
              + text
              + "' is not a condition: write KEY=VALUE, KEY!=VALUE or size<=SIZE, with KEY one of "
              + String.join(", ", KEYS));
    }
    String key = m.group(1);
    String op = m.group(2);
    String value = m.group(3).trim();
    if (key.equals("size")) {
      parseSize(value); // fails now rather than at the first drive
    } else if (!op.equals("=") && !op.equals("!=")) {
      throw new IllegalArgumentException(
          "'" + text + "': only size compares with < or >; write " + key + "=VALUE");
    }
    return new Condition(key, op, value, text);
  }

  /** Whether {@code drive} (in the slot labelled {@code label}) meets the condition. */
  public boolean test(Drive drive, String label) {
    if (key.equals("size")) {
      long limit = parseSize(value);
      long s = drive.size();
      return switch (op) {
        case "<=" -> s <= limit;
        case ">=" -> s >= limit;
        case "<" -> s < limit;
        case ">" -> s > limit;
        case "!=" -> s != limit;
        default -> s == limit;
      };
    }
    String actual =
        switch (key) {
          case "bus" -> drive.transport();
          case "name" -> drive.name();
          case "model" -> drive.model();
          case "vendor" -> drive.vendor();
          case "serial" -> drive.serial();
          case "slot" -> drive.slot();
          case "label" -> label;
          case "backing" -> drive.backingFile();
          case "removable" -> drive.removable() ? "yes" : "no";
          default -> "";
        };
    boolean matches = glob(value).matcher(actual).matches();
    return op.equals("!=") != matches;
  }

  private static Pattern glob(String g) {
    StringBuilder b = new StringBuilder();
    for (char c : g.toCharArray()) {
      switch (c) {
        case '*' -> b.append(".*");
        case '?' -> b.append('.');
        default -> b.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(b.toString(), Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  }

  /** 512, 64K, 256G, 2T (binary units; a trailing B or iB is allowed). */
  public static long parseSize(String s) {
    String t = s.trim().toUpperCase(Locale.ROOT).replaceAll("I?B$", "");
    long unit = 1;
    if (!t.isEmpty()) {
      int shift = "KMGTP".indexOf(t.charAt(t.length() - 1));
      if (shift >= 0) {
        unit = 1L << (10 * (shift + 1));
        t = t.substring(0, t.length() - 1);
      }
    }
    try {
      return Math.round(Double.parseDouble(t) * unit);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "'" + s + "' is not a size: write a number with K, M, G or T (e.g. 256G)");
    }
  }
}
