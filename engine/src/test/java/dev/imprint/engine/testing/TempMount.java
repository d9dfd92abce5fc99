package dev.imprint.engine.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A device mounted on a fresh temporary directory for a test; unmounted and removed on close. */
public final class TempMount implements AutoCloseable {
  private final Path device;
  private final Path mountPoint;
  private boolean mounted = true;

  private TempMount(Path device, Path mountPoint) {
    this.device = device;
    this.mountPoint = mountPoint;
  }

  /** Mounts {@code device} (filesystem type detected by mount) with mount options, if any. */
  public static TempMount mount(Path device, String... options) {
    Path dir;
    try {
      dir = Files.createTempDirectory("imprint-mnt-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> argv = new ArrayList<>(List.of("mount"));
    if (options.length > 0) {
      argv.addAll(List.of("-o", String.join(",", options)));
    }
    argv.addAll(List.of(device.toString(), dir.toString()));
    try {
      Cmd.run(argv.toArray(String[]::new));
    } catch (RuntimeException e) {
      dir.toFile().delete();
      throw e;
    }
    return new TempMount(device, dir);
  }

  public Path device() {
    return device;
  }

  public Path mountPoint() {
    return mountPoint;
  }

  /** Unmounts unless something else (the code under test) already did. */
  @Override
  public void close() {
    if (mounted && isMounted()) {
      Cmd.run("umount", mountPoint.toString());
    }
    mounted = false;
    mountPoint.toFile().delete();
  }

  private boolean isMounted() {
    return Cmd.result("mountpoint", "-q", mountPoint.toString()).exitCode() == 0;
  }
}
