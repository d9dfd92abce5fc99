package dev.imprint.cli;

import java.util.List;
import java.util.Map;

/** Writes an XML property list, the format asr's --plist output uses. */
final class Plist {
  private Plist() {}

  static String of(Map<String, Object> dict) {
    StringBuilder b = new StringBuilder();
    b.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    b.append(
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\""
            + " \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n");
    b.append("<plist version=\"1.0\">\n");
    value(b, dict, 0);
    b.append("</plist>\n");
    return b.toString();
  }

  private static void value(StringBuilder b, Object v, int depth) {
    String pad = "\t".repeat(depth);
    if (v instanceof Map<?, ?> m) {
      b.append(pad).append("<dict>\n");
      for (var e : m.entrySet()) {
        b.append(pad).append("\t<key>").append(esc(String.valueOf(e.getKey()))).append("</key>\n");
        value(b, e.getValue(), depth + 1);
      }
      b.append(pad).append("</dict>\n");
    } else if (v instanceof List<?> l) {
      b.append(pad).append("<array>\n");
      for (Object o : l) {
        value(b, o, depth + 1);
      }
      b.append(pad).append("</array>\n");
    } else if (v instanceof Boolean bo) {
      b.append(pad).append(bo ? "<true/>" : "<false/>").append('\n');
    } else if (v instanceof Integer || v instanceof Long) {
      b.append(pad).append("<integer>").append(v).append("</integer>\n");
    } else if (v instanceof Number) {
      b.append(pad).append("<real>").append(v).append("</real>\n");
    } else {
      b.append(pad).append("<string>").append(esc(String.valueOf(v))).append("</string>\n");
    }
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
