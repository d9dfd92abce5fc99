package dev.imprint.engine.filecopy;

import com.sun.jna.LastErrorException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Extended attributes of every namespace the caller may see (user, trusted, security with file
 * capabilities, system.posix_acl_* which are the ACLs), through an open descriptor, or for items no
 * descriptor reads (symlinks, devices, FIFOs) through the {@code /proc/self/fd/N} path of an O_PATH
 * descriptor, which the path calls resolve to the item itself.
 */
final class Xattrs {
  private Xattrs() {}

  /** How to reach one item's attributes. */
  record Handle(int fd, boolean pathOnly) {
    private byte[] proc() {
      return Names.c("/proc/self/fd/" + fd);
    }

    long list(byte[] buf, long size) {
      return pathOnly ? Sys.listxattr(proc(), buf, size) : Sys.flistxattr(fd, buf, size);
    }

    long get(byte[] name, byte[] value, long size) {
      return pathOnly
          ? Sys.getxattr(proc(), name, value, size)
          : Sys.fgetxattr(fd, name, value, size);
    }

    void set(byte[] name, byte[] value) {
      if (pathOnly) {
        Sys.setxattr(proc(), name, value, value.length, 0);
      } else {
        Sys.fsetxattr(fd, name, value, value.length, 0);
      }
    }
  }

  /** Every attribute as NUL-terminated name to value, in the order the filesystem lists them. */
  static Map<String, byte[]> read(Handle h) {
    Map<String, byte[]> result = new LinkedHashMap<>();
    byte[] list = null;
    for (int attempt = 0; list == null; attempt++) {
      long n = h.list(null, 0);
      if (n == 0) {
        return result;
      }
      byte[] buf = new byte[(int) n];
      try {
        long got = h.list(buf, n);
        list = Arrays.copyOf(buf, (int) got);
      } catch (LastErrorException e) {
        if (e.getErrorCode() != Sys.ERANGE || attempt > 5) {
          throw e;
        }
      }
    }
    int start = 0;
    for (int i = 0; i < list.length; i++) {
      if (list[i] == 0) {
        byte[] name = Arrays.copyOfRange(list, start, i + 1);
        start = i + 1;
        byte[] value = value(h, name);
        if (value != null && !mirror(name)) {
          // ISO-8859-1 keeps the bytes of any name one to one.
          result.put(
              new String(name, 0, name.length - 1, java.nio.charset.StandardCharsets.ISO_8859_1),
              value);
        }
      }
    }
    return result;
  }

  private static byte[] value(Handle h, byte[] name) {
    for (int attempt = 0; ; attempt++) {
      try {
        long n = h.get(name, null, 0);
        byte[] v = new byte[(int) n];
        long got = n == 0 ? 0 : h.get(name, v, n);
        return Arrays.copyOf(v, (int) got);
      } catch (LastErrorException e) {
        if (e.getErrorCode() == Sys.ENODATA) {
          return null; // removed between list and get
        }
        if (e.getErrorCode() != Sys.ERANGE || attempt > 5) {
          throw e;
        }
      }
    }
  }

  /**
   * XFS also lists a file's ACLs as trusted.SGI_ACL_FILE and trusted.SGI_ACL_DEFAULT, its on-disk
   * form of system.posix_acl_*: copied as ACLs, they must not be copied a second time.
   */
  private static boolean mirror(byte[] cname) {
    String n = new String(cname, 0, cname.length - 1, java.nio.charset.StandardCharsets.ISO_8859_1);
    return n.startsWith("trusted.SGI_ACL_");
  }

  /** The byte form of a name read by {@link #read}. */
  static byte[] cName(String name) {
    return Names.c(name.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
  }

  /** What a person calls the kind an attribute belongs to, for a once-per-kind report. */
  static String kind(String name) {
    if (name.startsWith("system.posix_acl")) {
      return "POSIX ACLs";
    }
    if (name.equals("security.capability")) {
      return "file capabilities";
    }
    int dot = name.indexOf('.');
    return "extended attributes (" + (dot > 0 ? name.substring(0, dot) : name) + ".*)";
  }

  /** Names present on one side only or with other values, in a few words. */
  static List<String> differences(Map<String, byte[]> want, Map<String, byte[]> got) {
    List<String> d = new ArrayList<>();
    for (var e : want.entrySet()) {
      byte[] g = got.get(e.getKey());
      if (g == null) {
        d.add("missing " + e.getKey());
      } else if (!Arrays.equals(g, e.getValue())) {
        d.add(e.getKey() + " differs");
      }
    }
    for (String k : got.keySet()) {
      if (!want.containsKey(k)) {
        d.add("extra " + k);
      }
    }
    return d;
  }
}
