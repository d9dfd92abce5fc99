package dev.imprint.engine.rules;

/** Whether the station may image a drive, and if not, why (shown beside the ignored drive). */
public record Verdict(boolean accepted, String reason) {
  public static Verdict accept(String why) {
    return new Verdict(true, why);
  }

  public static Verdict ignore(String why) {
    return new Verdict(false, why);
  }
}
