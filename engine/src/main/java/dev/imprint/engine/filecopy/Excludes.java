package dev.imprint.engine.filecopy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * --exclude patterns: shell globs ({@code *}, {@code ?}, {@code [..]}, and {@code **} across
 * slashes). A pattern without a slash matches an item's name at any depth; one with a slash matches
 * its path from the top of the source (a leading slash is allowed). Matching is on bytes.
 */
final class Excludes {
  private final List<Pattern> names = new ArrayList<>();
  private final List<Pattern> paths = new ArrayList<>();

  Excludes(List<String> globs) {
    for (String g : globs) {
      String bytes = latin1(g.getBytes(StandardCharsets.UTF_8));
      boolean path = bytes.indexOf('/') >= 0;
      if (path && bytes.startsWith("/")) {
        bytes = bytes.substring(1);
      }
      if (bytes.endsWith("/")) {
        bytes = bytes.substring(0, bytes.length() - 1);
      }
      (path ? paths : names).add(Pattern.compile(regex(bytes), Pattern.DOTALL));
    }
  }

  boolean isEmpty() {
    return names.isEmpty() && paths.isEmpty();
  }

  boolean matches(Dir parent, byte[] name) {
    if (isEmpty()) {
      return false;
    }
    String n = latin1(name);
    for (Pattern p : names) {
      if (p.matcher(n).matches()) {
        return true;
      }
    }
    if (!paths.isEmpty()) {
      String full = latin1(Names.join(parent.path(), name));
      for (Pattern p : paths) {
        if (p.matcher(full).matches()) {
          return true;
        }
      }
    }
    return false;
  }

  /** Bytes one to one as chars, so a pattern and a name compare byte for byte. */
  private static String latin1(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  private static String regex(String glob) {
    StringBuilder r = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      switch (c) {
        case '*' -> {
          if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
            r.append(".*");
            i++;
          } else {
            r.append("[^/]*");
          }
        }
        case '?' -> r.append("[^/]");
        case '[' -> {
          int end = glob.indexOf(']', i + 2);
          if (end < 0) {
            r.append("\\[");
          } else {
            String set = glob.substring(i + 1, end);
            if (set.startsWith("!")) {
              set = "^" + set.substring(1);
            }
            r.append('[').append(set.replace("\\", "\\\\")).append(']');
            i = end;
          }
        }
        default -> r.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return r.toString();
  }
}
