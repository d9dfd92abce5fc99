package dev.imprint.engine.control;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a client tells the server about itself, about once a second (docs/PROTOCOL.md, "Control
 * channel"): one JSON object.
 *
 * @param client the id from the handshake
 * @param state what it does now: {@code joining}, {@code receiving}, {@code fallback} (reading over
 *     the control channel), {@code verifying}, {@code done}, {@code failed}, {@code left}
 * @param done bytes of the image's data written so far
 * @param total bytes of data to write in all
 * @param loss the fraction of datagrams lost over the last interval (0 to 1)
 * @param writeRate bytes written per second over the last interval
 * @param writeBound whether its writing or decoding held the reception back over the last interval
 *     (so the write rate is all it can take, not just what arrived)
 * @param detail a line for the server's display (why it failed), may be empty
 */
public record ClientReport(
    String client,
    String state,
    long done,
    long total,
    double loss,
    long writeRate,
    boolean writeBound,
    String detail) {

  /** A report without a write rate: joining, leaving. */
  public static ClientReport of(String client, String state, long total, String detail) {
    return new ClientReport(client, state, 0, total, 0, 0, false, detail);
  }

  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("client", client);
    m.put("state", state);
    m.put("done", done);
    m.put("total", total);
    m.put("loss", loss);
    m.put("write-rate", writeRate);
    m.put("write-bound", writeBound);
    m.put("detail", detail == null ? "" : detail);
    return ConfigValueFactory.fromMap(m).render(ConfigRenderOptions.concise());
  }

  /**
   * @throws IllegalArgumentException when a field is missing or of the wrong type
   */
  public static ClientReport parse(String json) {
    try {
      Config c = ConfigFactory.parseString(json);
      return new ClientReport(
          c.getString("client"),
          c.getString("state"),
          c.getLong("done"),
          c.getLong("total"),
          c.getDouble("loss"),
          c.getLong("write-rate"),
          c.hasPath("write-bound") && c.getBoolean("write-bound"),
          c.hasPath("detail") ? c.getString("detail") : "");
    } catch (ConfigException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }
}
