package dev.imprint.engine.device;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A device or target file could not be used. The message is one line for a person: it names the
 * device, what went wrong, and what to do about it. {@link #errno()} is the kernel's error number
 * when one is known, else 0.
 */
public final class DeviceException extends IOException {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EIO = 5;
  public static final int ENXIO = 6;
  public static final int EACCES = 13;
  public static final int EBUSY = 16;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int EROFS = 30;
  public static final int EOPNOTSUPP = 95;

  private final int errno;

  public DeviceException(String message) {
    this(message, 0, null);
  }

  public DeviceException(String message, int errno, Throwable cause) {
    super(message, cause);
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }

  /**
   * Turns an errno from {@code action} (e.g. "open", "write at offset 4096") on {@code target} into
   * a message that says what to do.
   */
  public static DeviceException of(Path target, String action, int errno, Throwable cause) {
    String why = describe(target, action, errno);
    if (errno <= 0 && cause != null) {
      why += ": " + reason(cause);
    }
    return new DeviceException(why, errno, cause);
  }

  /** What Java said, when no errno could be recovered from it. */
  private static String reason(Throwable t) {
    if (t instanceof java.nio.channels.ClosedChannelException) {
      return "it was closed (its restore was stopped or the device went away)";
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
  }

  static DeviceException of(Path target, String action, LastErrorException e) {
    return of(target, action, e.getErrorCode(), e);
  }

  /**
   * Java's channels report errors as IOExceptions carrying only strerror text; recover the errno
   * from it so the message can still say what to do.
   */
  public static DeviceException of(Path target, String action, IOException e) {
    if (e instanceof DeviceException d) {
      return d;
    }
    return of(target, action, errnoFromText(e.getMessage()), e);
  }

  static String describe(Path target, String action, int errno) {
    return switch (errno) {
      case EBUSY ->
          "target "
              + target
              + " is busy (mounted or held by another program): unmount it or close what holds it";
      case EACCES, EPERM ->
          "permission denied to "
              + action
              + " "
              + target
              + ": run as root (sudo) or as a member of the disk group";
      case EROFS ->
          "target "
              + target
              + " is read-only: clear its write protection (blockdev --setrw "
              + target
              + ", or the lock switch on the card) and retry";
      case ENOSPC ->
          "no space left on "
              + target
              + " ("
              + action
              + "): use a larger target or free space on its filesystem";
      case ENOENT -> "target " + target + " does not exist: check the path (lsblk lists the disks)";
      case EIO ->
          "I/O error on "
              + target
              + " ("
              + action
              + "): the disk may be failing or was unplugged; check dmesg and the cable";
      case ENXIO, ENODEV ->
          "target "
              + target
              + " has no medium or was removed: reconnect it (or insert the card) and retry";
      default ->
          "could not "
              + action
              // "open /dev/sdb", "set the length of /dev/sdb", "write at offset 0 on /dev/sdb"
              + (action.endsWith(" of") || !action.contains(" ") ? " " : " on ")
              + target
              + (errno > 0 ? ": " + strerror(errno) : "");
    };
  }

  private static String strerror(int errno) {
    try {
      return LibC.INSTANCE.strerror(errno) + " (errno " + errno + ")";
    } catch (Throwable t) { // JNA unavailable: the number is still useful
      return "errno " + errno;
    }
  }

  private static int errnoFromText(String text) {
    if (text == null) {
      return 0;
    }
    String t = text.toLowerCase(Locale.ROOT);
    if (t.contains("device or resource busy")) return EBUSY;
    if (t.contains("permission denied")) return EACCES;
    if (t.contains("operation not permitted")) return EPERM;
    if (t.contains("read-only file system")) return EROFS;
    if (t.contains("no space left")) return ENOSPC;
    if (t.contains("no such file")) return ENOENT;
    if (t.contains("input/output error")) return EIO;
    if (t.contains("no such device or address")) return ENXIO;
    if (t.contains("no such device")) return ENODEV;
    return 0;
  }
}
