package dev.imprint.engine.filecopy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Kinds of metadata the target refused (ownership on a filesystem or for a user that can't chown,
 * trusted.* attributes without privilege, device nodes): each reported once, the first time, and
 * left out of verification from then on.
 */
final class LostKinds {
  static final String OWNERSHIP = "ownership";
  static final String DEVICES = "device nodes";

  private final Set<String> kinds = ConcurrentHashMap.newKeySet();
  private final Consumer<String> warnings;
  private final String target;

  LostKinds(String target, Consumer<String> warnings) {
    this.target = target;
    this.warnings = warnings;
  }

  void lost(String kind, Object example, int errno) {
    if (kinds.add(kind)) {
      warnings.accept(
          target
              + " cannot keep "
              + kind
              + " ("
              + Errors.describe(errno)
              + ", first at "
              + example
              + "): copying the rest without them");
    }
  }

  boolean has(String kind) {
    return kinds.contains(kind);
  }

  List<String> all() {
    return new ArrayList<>(kinds);
  }

  /** Whether errno says "this filesystem or this user can't have that", not a failure. */
  static boolean refused(int errno) {
    return errno == Sys.EPERM
        || errno == Sys.EOPNOTSUPP
        || errno == Sys.EACCES
        || errno == Sys.EINVAL
        || errno == Sys.ENOSYS;
  }
}
