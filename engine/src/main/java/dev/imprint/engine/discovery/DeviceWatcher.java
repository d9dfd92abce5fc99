package dev.imprint.engine.discovery;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches whole disks come and go on its own thread: kernel uevents wake it, and a rescan of sysfs
 * decides what changed (events only say that something did; a burst of them, such as a partition
 * re-read, is settled into one rescan). Without uevents, or when the socket overruns, rescans on a
 * timer. A drive is its kernel name, slot, serial, size and backing file: a new medium in the same
 * reader is a new drive. Disks without a medium are not reported.
 */
public final class DeviceWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DeviceWatcher.class);

  /** What the watcher reports, on its own thread. */
  public interface Listener {
    /** Drives present when watching starts, once, before anything else. */
    void present(List<Drive> drives);

    void appeared(Drive drive);

    void removed(Drive drive);

    /** Something the user should know (slots colliding, uevents unavailable). */
    void warning(String message);
  }

  /**
   * @param uevents listen to kernel uevents (else poll only)
   * @param pollInterval how often to rescan without an event (a fallback when uevents are on)
   * @param settle how long after an event to rescan, so a burst becomes one rescan
   */
  public record Options(boolean uevents, Duration pollInterval, Duration settle) {
    public static Options defaults(boolean uevents) {
      return new Options(
          uevents,
          uevents ? Duration.ofSeconds(5) : Duration.ofMillis(500),
          Duration.ofMillis(150));
    }
  }

  private final Sysfs sysfs;
  private final Options options;
  private final Listener listener;
  private final Thread thread;
  private final Map<String, Drive> known = new LinkedHashMap<>();
  private final Set<String> collisionsReported = new HashSet<>();
  private volatile boolean stopped;

  public DeviceWatcher(Sysfs sysfs, Options options, Listener listener) {
    this.sysfs = sysfs;
    this.options = options;
    this.listener = listener;
    this.thread = new Thread(this::run, "device-watcher");
    thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  private void run() {
    UeventSocket socket = null;
    try {
      if (options.uevents()) {
        try {
          socket = UeventSocket.open();
        } catch (IOException | LinkageError e) {
          listener.warning(e.getMessage() + ": watching by rescanning instead");
        }
      }
      // Opened before the first scan, so nothing plugged in between is missed.
      List<Drive> first = new ArrayList<>();
      for (Drive d : sysfs.scan()) {
        if (d.hasMedium()) {
          known.put(d.name(), d);
          first.add(d);
        }
      }
      reportCollisions();
      listener.present(first);
      long nextPoll = System.nanoTime() + options.pollInterval().toNanos();
      long due = Long.MAX_VALUE;
      while (!stopped) {
        if (socket != null) {
          UeventSocket.Received r = socket.receive();
          if (r instanceof UeventSocket.Received.Event e && e.event().isBlock()) {
            LOG.debug("uevent {} {}", e.event().action(), e.event().devpath());
            due = Math.min(due, System.nanoTime() + options.settle().toNanos());
          } else if (r instanceof UeventSocket.Received.Overrun) {
            due = System.nanoTime();
          }
        } else {
          Thread.sleep(Math.max(1, Math.min(50, options.pollInterval().toMillis())));
        }
        long now = System.nanoTime();
        if (now >= due || now >= nextPoll) {
          rescan();
          due = Long.MAX_VALUE;
          nextPoll = now + options.pollInterval().toNanos();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException | RuntimeException e) {
      LOG.error("device watcher stopped", e);
      listener.warning("the device watcher stopped: " + e.getMessage());
    } finally {
      if (socket != null) {
        socket.close();
      }
    }
  }

  /** Compares a fresh scan with what is known: gone, new, or the same name with a new identity. */
  private void rescan() {
    Map<String, Drive> now = new LinkedHashMap<>();
    for (Drive d : sysfs.scan()) {
      if (d.hasMedium()) {
        now.put(d.name(), d);
      }
    }
    for (Drive old : List.copyOf(known.values())) {
      Drive fresh = now.get(old.name());
      if (!old.sameAs(fresh)) {
        known.remove(old.name());
        listener.removed(old);
      }
    }
    for (Drive d : now.values()) {
      if (!known.containsKey(d.name())) {
        known.put(d.name(), d);
        listener.appeared(d);
      }
    }
    reportCollisions();
  }

  /** Two drives on one port path would share a slot: say so once per set. */
  private void reportCollisions() {
    Map<String, List<String>> bySlot = new TreeMap<>();
    for (Drive d : known.values()) {
      bySlot.computeIfAbsent(d.slot(), s -> new ArrayList<>()).add(d.name());
    }
    for (var e : bySlot.entrySet()) {
      if (e.getValue().size() > 1 && collisionsReported.add(e.getKey() + e.getValue())) {
        listener.warning(
            "slot collision: "
                + String.join(", ", e.getValue())
                + " share the port path "
                + e.getKey()
                + "; each is handled under its own name");
      }
    }
  }

  @Override
  public void close() {
    stopped = true;
    thread.interrupt();
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
