package dev.imprint.engine.codec;

import java.util.Locale;

/** A codec and its level, as the user writes it: {@code zstd}, {@code zstd:9}, {@code lz4}. */
public record Compression(Codec codec, int level) {
  public static final Compression DEFAULT = new Compression(Codec.ZSTD, 3);

  public static Compression parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    String name = t;
    Integer level = null;
    int colon = t.indexOf(':');
    if (colon >= 0) {
      name = t.substring(0, colon);
      try {
        level = Integer.parseInt(t.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "compression level in '" + text + "' is not a number: use e.g. zstd:3");
      }
    }
    return switch (name) {
      case "zstd" -> {
        int l = level == null ? 3 : level;
        if (l < 1 || l > 19) {
          throw new IllegalArgumentException(
              "zstd level " + l + " is out of range: use 1 (fast) to 19 (small)");
        }
        yield new Compression(Codec.ZSTD, l);
      }
      case "lz4" -> new Compression(Codec.LZ4, 0);
      case "none" -> new Compression(Codec.NONE, 0);
      default ->
          throw new IllegalArgumentException(
              "unknown compression '" + text + "': use zstd[:LEVEL], lz4 or none");
    };
  }

  @Override
  public String toString() {
    return codec == Codec.ZSTD ? "zstd:" + level : codec.name().toLowerCase(Locale.ROOT);
  }
}
