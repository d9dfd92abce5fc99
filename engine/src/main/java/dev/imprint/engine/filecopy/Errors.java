package dev.imprint.engine.filecopy;

/** errno in words, as strerror(3) says it. */
final class Errors {
  private Errors() {}

  static String describe(int errno) {
    String s = Sys.strerror(errno);
    return s == null ? "error " + errno : s;
  }
}
