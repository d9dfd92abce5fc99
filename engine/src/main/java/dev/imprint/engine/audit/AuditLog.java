package dev.imprint.engine.audit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An append-only log of drive jobs, one JSON line per record, each written whole and fsynced before
 * the call returns: a power cut loses nothing already reported, and at worst leaves one partial
 * line at the end, which readers skip. Serials seen in earlier jobs (of this file) mark a new job
 * as a repeat.
 */
public final class AuditLog implements Closeable {
  private final Path file;
  private final FileChannel channel;
  private final Set<String> serials = new HashSet<>();

  private AuditLog(Path file, FileChannel channel, List<AuditRecord> earlier) {
    this.file = file;
    this.channel = channel;
    for (AuditRecord r : earlier) {
      if (!r.serial().isEmpty()) {
        serials.add(r.serialSource() + ":" + r.serial());
      }
    }
  }

  /** Opens (creating it and its directory if needed) {@code file} for appending. */
  public static AuditLog open(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    List<AuditRecord> earlier = read(file);
    FileChannel ch =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    // A line cut short by a crash must not swallow the next record: start on a fresh line.
    if (ch.size() > 0) {
      ByteBuffer last = ByteBuffer.allocate(1);
      try (FileChannel r = FileChannel.open(file, StandardOpenOption.READ)) {
        r.read(last, r.size() - 1);
      }
      if (last.get(0) != '\n') {
        ch.write(ByteBuffer.wrap(new byte[] {'\n'}));
      }
    }
    return new AuditLog(file, ch, earlier);
  }

  public Path file() {
    return file;
  }

  /**
   * Appends the start of a job, marked as a repeat when its serial was seen before; returns the
   * record as written.
   */
  public synchronized AuditRecord started(AuditRecord start) throws IOException {
    AuditRecord r = start;
    if (!start.serial().isEmpty()) {
      r = start.withRepeat(!serials.add(start.serialSource() + ":" + start.serial()));
    }
    append(r);
    return r;
  }

  public synchronized void ended(AuditRecord end) throws IOException {
    append(end);
  }

  private void append(AuditRecord r) throws IOException {
    ByteBuffer b = ByteBuffer.wrap((r.toJson() + "\n").getBytes(StandardCharsets.UTF_8));
    while (b.hasRemaining()) {
      channel.write(b);
    }
    channel.force(true);
  }

  /** Every whole record in {@code file}, in order; lines that are not whole records are skipped. */
  public static List<AuditRecord> read(Path file) throws IOException {
    List<AuditRecord> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        AuditRecord.parse(line).ifPresent(out::add);
      }
    } catch (NoSuchFileException e) {
      return out;
    }
    return out;
  }

  /**
   * One row per job as CSV (RFC 4180): the end record's fields, or the start record's with result
   * "incomplete" when the job never ended (the station was killed).
   */
  public static String csv(List<AuditRecord> records) {
    Map<String, AuditRecord> jobs = new LinkedHashMap<>();
    for (AuditRecord r : records) {
      if (r.event().equals("end") || !jobs.containsKey(r.job())) {
        jobs.put(r.job(), r);
      }
    }
    StringBuilder b = new StringBuilder();
    List<String> header = new ArrayList<>(EMPTY.fields().keySet());
    header.remove("event");
    b.append(String.join(",", header)).append("\r\n");
    for (AuditRecord r : jobs.values()) {
      Map<String, Object> f = r.fields();
      if (r.event().equals("start")) {
        f.put("result", "incomplete");
      }
      List<String> cells = new ArrayList<>();
      for (String k : header) {
        Object v = f.get(k);
        cells.add(
            cell(
                v instanceof List<?> l
                    ? String.join(" ", l.stream().map(String::valueOf).toList())
                    : String.valueOf(v)));
      }
      b.append(String.join(",", cells)).append("\r\n");
    }
    return b.toString();
  }

  /** A record with no content: its field names are the CSV header. */
  private static final AuditRecord EMPTY =
      new AuditRecord(
          "start", "", "", "", "", "", "", "", "", "", "", "", false, 0, "", "", List.of(), 0, "",
          -1, 0, "", "", "");

  private static String cell(String s) {
    if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
      return "\"" + s.replace("\"", "\"\"") + "\"";
    }
    return s;
  }

  @Override
  public synchronized void close() throws IOException {
    channel.close();
  }
}
