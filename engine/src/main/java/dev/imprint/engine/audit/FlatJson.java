package dev.imprint.engine.audit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The JSON of audit lines: one flat object of strings, whole numbers, booleans and lists of
 * strings. Reading is strict, so a line cut short by a power cut is recognised and skipped.
 */
final class FlatJson {
  private FlatJson() {}

  static String encode(Map<String, Object> fields) {
    StringBuilder b = new StringBuilder("{");
    for (var e : fields.entrySet()) {
      if (b.length() > 1) {
        b.append(',');
      }
      quote(b, e.getKey());
      b.append(':');
      Object v = e.getValue();
      if (v instanceof List<?> l) {
        b.append('[');
        for (int i = 0; i < l.size(); i++) {
          b.append(i > 0 ? "," : "");
          quote(b, String.valueOf(l.get(i)));
        }
        b.append(']');
      } else if (v instanceof Number || v instanceof Boolean) {
        b.append(v);
      } else {
        quote(b, String.valueOf(v));
      }
    }
    return b.append('}').toString();
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    b.append('"');
  }

  static Optional<Map<String, Object>> decode(String line) {
    try {
      Reader r = new Reader(line.trim());
      Map<String, Object> m = r.object();
      return r.at == r.s.length() ? Optional.of(m) : Optional.empty();
    } catch (IllegalStateException | IndexOutOfBoundsException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static final class Reader {
    final String s;
    int at;

    Reader(String s) {
      this.s = s;
    }

    Map<String, Object> object() {
      expect('{');
      Map<String, Object> m = new LinkedHashMap<>();
      if (peek() == '}') {
        at++;
        return m;
      }
      do {
        String k = string();
        expect(':');
        m.put(k, value());
      } while (next(',', '}') == ',');
      return m;
    }

    Object value() {
      char c = peek();
      if (c == '"') {
        return string();
      }
      if (c == '[') {
        at++;
        List<String> l = new ArrayList<>();
        if (peek() == ']') {
          at++;
          return l;
        }
        do {
          l.add(string());
        } while (next(',', ']') == ',');
        return l;
      }
      if (s.startsWith("true", at) || s.startsWith("false", at)) {
        boolean t = s.startsWith("true", at);
        at += t ? 4 : 5;
        return t;
      }
      int start = at;
      while (at < s.length() && (Character.isDigit(s.charAt(at)) || s.charAt(at) == '-')) {
        at++;
      }
      return Long.parseLong(s.substring(start, at));
    }

    String string() {
      expect('"');
      StringBuilder b = new StringBuilder();
      while (true) {
        char c = s.charAt(at++);
        if (c == '"') {
          return b.toString();
        }
        if (c == '\\') {
          char e = s.charAt(at++);
          switch (e) {
            case 'u' -> {
              b.append((char) Integer.parseInt(s.substring(at, at + 4), 16));
              at += 4;
            }
            case 'n' -> b.append('\n');
            case 't' -> b.append('\t');
            case 'r' -> b.append('\r');
            default -> b.append(e);
          }
        } else {
          b.append(c);
        }
      }
    }

    char peek() {
      return s.charAt(at);
    }

    void expect(char c) {
      if (s.charAt(at++) != c) {
        throw new IllegalStateException("expected " + c);
      }
    }

    char next(char a, char b) {
      char c = s.charAt(at++);
      if (c != a && c != b) {
        throw new IllegalStateException("expected " + a + " or " + b);
      }
      return c;
    }
  }
}
