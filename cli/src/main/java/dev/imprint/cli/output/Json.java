package dev.imprint.cli.output;

import java.util.Map;

/** Writes the flat JSON objects of {@code --json}: one object per line, no library needed. */
public final class Json {
  private Json() {}

  /** An object from alternating keys and values (String, Number, Boolean, null, Map, List). */
  public static String object(Object... kv) {
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < kv.length; i += 2) {
      if (i > 0) {
        b.append(',');
      }
      quote(b, String.valueOf(kv[i]));
      b.append(':');
      value(b, kv[i + 1]);
    }
    return b.append('}').toString();
  }

  private static void value(StringBuilder b, Object v) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof Number || v instanceof Boolean) {
      b.append(v);
    } else if (v instanceof RawJson r) {
      b.append(r.json());
    } else if (v instanceof Iterable<?> list) {
      b.append('[');
      boolean first = true;
      for (Object o : list) {
        if (!first) {
          b.append(',');
        }
        first = false;
        value(b, o);
      }
      b.append(']');
    } else if (v instanceof Map<?, ?> m) {
      b.append('{');
      boolean first = true;
      for (var e : m.entrySet()) {
        if (!first) {
          b.append(',');
        }
        first = false;
        quote(b, String.valueOf(e.getKey()));
        b.append(':');
        value(b, e.getValue());
      }
      b.append('}');
    } else {
      quote(b, v.toString());
    }
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }

  /** Already-encoded JSON to embed as is. */
  public record RawJson(String json) {}
}
