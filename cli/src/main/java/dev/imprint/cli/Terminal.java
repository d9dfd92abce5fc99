package dev.imprint.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** The streams of this run, and whether a person is there to answer a prompt. */
final class Terminal {
  private static InputStream in = System.in;
  private static PrintStream out = System.out;
  private static PrintStream err = System.err;

  private Terminal() {}

  static void set(InputStream i, PrintStream o, PrintStream e) {
    in = i;
    out = o;
    err = e;
  }

  static InputStream in() {
    return in;
  }

  static PrintStream out() {
    return out;
  }

  static PrintStream err() {
    return err;
  }

  /** True when standard input and output are a terminal (System.console is null otherwise). */
  static boolean interactive() {
    return System.console() != null && in == System.in;
  }

  /** Asks a yes/no question; anything but y or yes is no. */
  static boolean confirm(String question) throws IOException {
    out.print(question + " [ny]: ");
    out.flush();
    String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
    return line != null
        && (line.trim().equalsIgnoreCase("y") || line.trim().equalsIgnoreCase("yes"));
  }
}
