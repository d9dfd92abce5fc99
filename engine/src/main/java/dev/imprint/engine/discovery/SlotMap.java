package dev.imprint.engine.discovery;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Labels for slots ("A1".."D4"), read from a text file: one slot a line, {@code LABEL PORT-PATH
 * [armed]}, {@code #} starts a comment. A slot marked {@code armed} may be imaged when the station
 * runs with {@code --armed}. Safe to use from several threads (learning appends while drives are
 * judged).
 */
public final class SlotMap {
  /** One line of the map. */
  public record Entry(String label, String slot, boolean armed) {}

  private final Map<String, Entry> bySlot = new LinkedHashMap<>();

  private SlotMap(List<Entry> entries) {
    for (Entry e : entries) {
      bySlot.put(e.slot(), e);
    }
  }

  public static SlotMap empty() {
    return new SlotMap(List.of());
  }

  /** Reads {@code file}; a missing file is an empty map (learning starts from nothing). */
  public static SlotMap read(Path file) throws IOException {
    List<Entry> entries = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return empty();
    }
    int n = 0;
    for (String raw : lines) {
      n++;
      String line = raw.replaceAll("#.*", "").trim();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split("\\s+");
      if (f.length < 2 || f.length > 3 || (f.length == 3 && !f[2].equals("armed"))) {
        throw new IOException(
            file + " line " + n + ": expected 'LABEL PORT-PATH [armed]', got '" + raw.trim() + "'");
      }
      if (labels.contains(f[0])) {
        throw new IOException(file + " line " + n + ": label " + f[0] + " is given twice");
      }
      labels.add(f[0]);
      entries.add(new Entry(f[0], f[1], f.length == 3));
    }
    return new SlotMap(entries);
  }

  public synchronized Optional<Entry> entry(String slot) {
    return Optional.ofNullable(bySlot.get(slot));
  }

  /** The label of {@code slot}, or the slot itself when it has none. */
  public synchronized String label(String slot) {
    Entry e = bySlot.get(slot);
    return e == null ? slot : e.label();
  }

  public synchronized boolean armed(String slot) {
    Entry e = bySlot.get(slot);
    return e != null && e.armed();
  }

  public synchronized List<Entry> entries() {
    return List.copyOf(bySlot.values());
  }

  /** The first of A1..D4 (then E1, ...) not taken yet: the label learning gives the next port. */
  public synchronized String nextLabel() {
    for (int row = 0; row < 26; row++) {
      for (int col = 1; col <= 4; col++) {
        String l = (char) ('A' + row) + Integer.toString(col);
        if (bySlot.values().stream().noneMatch(e -> e.label().equals(l))) {
          return l;
        }
      }
    }
    return "S" + (bySlot.size() + 1);
  }

  /** Adds a learned slot and appends it to {@code file}. */
  public synchronized Entry learn(Path file, String slot) throws IOException {
    Entry e = new Entry(nextLabel(), slot, false);
    Files.writeString(
        file,
        e.label() + " " + e.slot() + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    bySlot.put(slot, e);
    return e;
  }
}
