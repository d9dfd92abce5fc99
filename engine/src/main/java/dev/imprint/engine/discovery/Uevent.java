package dev.imprint.engine.discovery;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One kernel uevent as it comes off {@code NETLINK_KOBJECT_UEVENT}: a header {@code ACTION@DEVPATH}
 * followed by NUL-separated {@code KEY=VALUE} strings (ACTION, DEVPATH, SUBSYSTEM, DEVNAME,
 * DEVTYPE, SEQNUM, and for a loop device's new backing file DISK_MEDIA_CHANGE=1).
 */
public record Uevent(String action, String devpath, Map<String, String> env) {
  public Uevent {
    env = Map.copyOf(env);
  }

  /**
   * Parses one datagram; empty for what is not a kernel uevent (udev's own re-broadcasts start with
   * "libudev" and carry a binary header).
   */
  public static Optional<Uevent> parse(byte[] data, int length) {
    String[] parts = new String(data, 0, length, StandardCharsets.UTF_8).split("\0");
    if (parts.length == 0 || !parts[0].contains("@") || parts[0].startsWith("libudev")) {
      return Optional.empty();
    }
    Map<String, String> env = new LinkedHashMap<>();
    for (int i = 1; i < parts.length; i++) {
      int eq = parts[i].indexOf('=');
      if (eq > 0) {
        env.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
      }
    }
    int at = parts[0].indexOf('@');
    String action = env.getOrDefault("ACTION", parts[0].substring(0, at));
    String devpath = env.getOrDefault("DEVPATH", parts[0].substring(at + 1));
    return Optional.of(new Uevent(action, devpath, env));
  }

  /** A block device event: a disk or partition appeared, changed (new medium) or went away. */
  public boolean isBlock() {
    return "block".equals(env.get("SUBSYSTEM"));
  }

  /** The kernel name (DEVNAME, or the last element of DEVPATH). */
  public String name() {
    String n = env.get("DEVNAME");
    if (n != null) {
      return n.startsWith("/dev/") ? n.substring(5) : n;
    }
    return devpath.substring(devpath.lastIndexOf('/') + 1);
  }
}
