package dev.imprint.engine.control;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The server's answer to a handshake: who it is, the image it streams, and how to receive it. Sent
 * as one JSON object (docs/PROTOCOL.md, "Control channel").
 *
 * @param protocol the server's protocol version
 * @param session this run's session id (hex, 8 bytes): datagrams of any other run are dropped
 * @param secret the key of the datagrams' MAC (hex, 32 bytes), for this run only
 * @param client the id the server gave this client, for its reports
 * @param imageName the image's file name
 * @param imageSize the image file's size in bytes
 * @param digest the image digest (hex SHA-256 from its trailer)
 * @param group the multicast group
 * @param dataPort the UDP port of the stream
 * @param dataRate the stream's rate ceiling in bytes per second
 * @param symbolSize image bytes per datagram (docs/PROTOCOL.md, "Multicast data stream")
 * @param blockSymbols source symbols per FEC block at most
 * @param streaming whether the stream runs now (it starts at the first client)
 */
public record Handshake(
    int protocol,
    String session,
    String secret,
    String client,
    String imageName,
    long imageSize,
    String digest,
    String group,
    int dataPort,
    long dataRate,
    int symbolSize,
    int blockSymbols,
    boolean streaming) {

  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("protocol", protocol);
    m.put("session", session);
    m.put("secret", secret);
    m.put("client", client);
    m.put(
        "image",
        Map.of(
            "name", imageName, "size", imageSize, "digest", digest, "path", ControlChannel.IMAGE));
    m.put(
        "stream",
        Map.of(
            "group",
            group,
            "port",
            dataPort,
            "data-rate",
            dataRate,
            "symbol-size",
            symbolSize,
            "block-symbols",
            blockSymbols,
            "streaming",
            streaming));
    return ConfigValueFactory.fromMap(m).render(ConfigRenderOptions.concise());
  }

  /**
   * Reads a server's answer.
   *
   * @throws IllegalArgumentException when a field is missing or of the wrong type
   */
  public static Handshake parse(String json) {
    try {
      Config c = ConfigFactory.parseString(json);
      return new Handshake(
          c.getInt("protocol"),
          c.getString("session"),
          c.getString("secret"),
          c.getString("client"),
          c.getString("image.name"),
          c.getLong("image.size"),
          c.getString("image.digest"),
          c.getString("stream.group"),
          c.getInt("stream.port"),
          c.getLong("stream.data-rate"),
          c.getInt("stream.symbol-size"),
          c.getInt("stream.block-symbols"),
          c.getBoolean("stream.streaming"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }
}
