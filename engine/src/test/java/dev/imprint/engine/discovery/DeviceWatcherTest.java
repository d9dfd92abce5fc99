package dev.imprint.engine.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loop devices attached and detached while the watcher runs, through kernel uevents and by
 * rescanning. Other builds attach loop devices on this machine at the same time: only events about
 * this test's own backing files count.
 */
class DeviceWatcherTest {
  @TempDir Path tmp;
  private final Cleanup cleanup = new Cleanup();

  @AfterEach
  void clean() {
    cleanup.run(tmp);
  }

  /** What the watcher said, as lines: "present N", "+name file", "-name file", "! warning". */
  static final class Recorder implements DeviceWatcher.Listener {
    final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    @Override
    public void present(List<Drive> drives) {
      lines.add("present " + drives.size());
    }

    @Override
    public void appeared(Drive d) {
      lines.add("+" + d.name() + " " + d.backingFile());
    }

    @Override
    public void removed(Drive d) {
      lines.add("-" + d.name() + " " + d.backingFile());
    }

    @Override
    public void warning(String message) {
      lines.add("! " + message);
    }

    /** The next line about {@code file}, waiting up to {@code seconds}. */
    String next(Path file, int seconds) throws InterruptedException {
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      while (System.nanoTime() < end) {
        String l = lines.poll(100, TimeUnit.MILLISECONDS);
        if (l != null && l.endsWith(" " + file)) {
          return l;
        }
      }
      return null;
    }
  }

  private void attachAndDetach(DeviceWatcher.Options options, long maxMillis) throws Exception {
    Root.assumeRoot();
    Path file = tmp.resolve("disk-" + System.nanoTime() + ".img");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(8 << 20);
    }
    Recorder r = new Recorder();
    try (DeviceWatcher w = new DeviceWatcher(Sysfs.system(), options, r)) {
      w.start();
      String first = r.lines.poll(10, TimeUnit.SECONDS);
      assertNotNull(first);
      assertTrue(first.startsWith("present "), first);
      long t0 = System.nanoTime();
      LoopDevice loop = LoopDevice.attach(file);
      cleanup.add(loop);
      String added = r.next(file, 10);
      long millis = (System.nanoTime() - t0) / 1_000_000;
      assertEquals("+" + loop.path().getFileName() + " " + file, added);
      assertTrue(millis < maxMillis, "noticed after " + millis + " ms");
      loop.close();
      assertEquals("-" + loop.path().getFileName() + " " + file, r.next(file, 10));
    }
    assertTrue(Files.exists(file));
  }

  @Test
  void ueventsAnnounceALoopDeviceAtOnce() throws Exception {
    // A fallback rescan every minute: only the uevent can be this quick.
    attachAndDetach(
        new DeviceWatcher.Options(true, Duration.ofMinutes(1), Duration.ofMillis(150)), 5_000);
  }

  @Test
  void rescanningFindsItWithoutUevents() throws Exception {
    attachAndDetach(DeviceWatcher.Options.defaults(false), 5_000);
  }

  @Test
  void twoDisksOnOnePortPathAreReported() throws Exception {
    SysfsFixture f = SysfsFixture.unpack(tmp);
    Path sdb = f.sys().resolve("block/sdb");
    Files.createSymbolicLink(f.sys().resolve("block/sdx"), Files.readSymbolicLink(sdb));
    Recorder r = new Recorder();
    try (DeviceWatcher w = new DeviceWatcher(f.sysfs(), DeviceWatcher.Options.defaults(false), r)) {
      w.start();
      String warning = null;
      for (int i = 0; i < 2 && warning == null; i++) {
        String l = r.lines.poll(10, TimeUnit.SECONDS);
        warning = l != null && l.startsWith("! ") ? l : null;
      }
      assertNotNull(warning);
      assertTrue(
          warning.contains("sdb, sdx share the port path pci-0000:00:1d.7-usb-5-1"), warning);
    }
  }
}
