package dev.imprint.cli.station;

import dev.imprint.actors.station.SlotState;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.discovery.Drive;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What the board shows: one row per slot, and totals, folded from the station's events. */
final class BoardModel {
  /** One slot's row. */
  static final class Row {
    String slot;
    String label;
    Drive drive;
    SlotState state;
    String detail = "";
    long firstBad = -1;
    long done;
    long total;
    double rate;
    long stateSince = System.nanoTime();

    int percent() {
      return total <= 0 ? 0 : (int) Math.min(100, done * 100 / total);
    }

    /** Seconds left in this phase at the current rate, or -1. */
    long eta() {
      return rate <= 0 || total <= 0 ? -1 : (long) ((total - done) / rate);
    }
  }

  private final Map<String, Row> rows = new LinkedHashMap<>();
  private final long startNanos = System.nanoTime();
  private final List<String> notes = new ArrayList<>();
  private int done;
  private int failed;

  void apply(StationEvent e) {
    if (e instanceof StationEvent.SlotChanged c) {
      Row r = rows.computeIfAbsent(c.slot(), k -> new Row());
      if (c.state() == SlotState.DONE) {
        done++;
      } else if (c.state() == SlotState.FAILED) {
        failed++;
      }
      if (c.state() != r.state) {
        r.stateSince = System.nanoTime();
        if (c.state() != SlotState.REMOVED) {
          r.done = 0;
          r.total = 0;
          r.rate = 0;
        }
      }
      r.slot = c.slot();
      r.label = c.label();
      r.drive = c.drive();
      r.state = c.state();
      if (c.state() != SlotState.REMOVED || r.detail.isEmpty()) {
        r.detail = c.detail();
      }
      r.firstBad = c.firstBadOffset();
    } else if (e instanceof StationEvent.SlotProgress p) {
      Row r = rows.get(p.slot());
      if (r != null) {
        r.done = p.done();
        r.total = p.total();
        r.rate = p.bytesPerSecond();
      }
    } else if (e instanceof StationEvent.Warning w) {
      note("warning: " + w.message());
    } else if (e instanceof StationEvent.Draining d) {
      note("stopping: " + d.why() + "; running jobs finish");
    } else if (e instanceof StationEvent.SlotLearned l) {
      note("slot " + l.slot() + " is " + l.label());
    }
  }

  private void note(String n) {
    notes.add(n);
    if (notes.size() > 50) {
      notes.remove(0);
    }
  }

  List<Row> rows() {
    return List.copyOf(rows.values());
  }

  List<String> notes() {
    return notes;
  }

  int done() {
    return done;
  }

  int failed() {
    return failed;
  }

  int running() {
    return (int) rows.values().stream().filter(r -> r.state != null && r.state.busy()).count();
  }

  double aggregateRate() {
    return rows.values().stream()
        .filter(r -> r.state == SlotState.WRITING || r.state == SlotState.VERIFYING)
        .mapToDouble(r -> r.rate)
        .sum();
  }

  /** The totals line. */
  String totals() {
    double hours = (System.nanoTime() - startNanos) / 3.6e12;
    double perHour = hours <= 0 ? 0 : (done + failed) / hours;
    return String.format(
        Locale.ROOT,
        "done %d  failed %d  running %d  %.0f drives/h  %s/s",
        done,
        failed,
        running(),
        perHour,
        Sizes.human((long) aggregateRate()));
  }

  /** A result column: the failure (with the first bad offset), or the done line. */
  static String result(Row r) {
    if (r.state == SlotState.FAILED || r.state == SlotState.IGNORED || r.state == SlotState.READY) {
      return r.detail + (r.firstBad >= 0 ? " [first bad byte " + r.firstBad + "]" : "");
    }
    if (r.state == SlotState.REMOVED) {
      return "removed (" + r.detail + ")";
    }
    return r.state == SlotState.DONE ? r.detail : "";
  }

  /** A slot as the board's narrow column shows it: its label, or the end of its port path. */
  static String shortLabel(Row r) {
    if (!r.label.equals(r.slot)) {
      return r.label;
    }
    String s = r.slot.replaceFirst("^pci-[0-9a-f:.]+-", "").replaceFirst("^(usb|scsi)-", "");
    return s.length() <= 7 ? s : "~" + s.substring(s.length() - 6);
  }

  static String who(Drive d) {
    String s = d.description();
    return d.serial().isEmpty() ? s : s + " #" + d.serial();
  }
}
