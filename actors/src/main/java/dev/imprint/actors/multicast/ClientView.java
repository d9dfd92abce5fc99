package dev.imprint.actors.multicast;

import java.time.Duration;
import java.time.Instant;

/**
 * A client as the server sees it.
 *
 * @param id the id the handshake gave it
 * @param address where it connects from
 * @param name the name it gave
 * @param state its last reported state (joining until its first report)
 * @param done bytes written
 * @param total bytes to write
 * @param loss fraction of datagrams lost lately
 * @param writeRate bytes per second written lately
 * @param writeBound whether its writing or decoding held it back lately (it could take no more)
 * @param detail its last line (why it failed)
 * @param since when it shook hands
 * @param lastSeen its last handshake or report
 */
public record ClientView(
    String id,
    String address,
    String name,
    String state,
    long done,
    long total,
    double loss,
    long writeRate,
    boolean writeBound,
    String detail,
    Instant since,
    Instant lastSeen) {

  public double percent() {
    return total <= 0 ? 0 : Math.min(100.0, 100.0 * done / total);
  }

  /** Time left at the current write rate, or null when unknown. */
  public Duration eta() {
    if (writeRate <= 0 || total <= 0) {
      return null;
    }
    return Duration.ofSeconds(Math.max(0, (total - done) / writeRate));
  }

  public boolean finished() {
    return state.equals("done") || state.equals("failed") || state.equals("left");
  }
}
