package dev.imprint.actors.multicast;

import dev.imprint.engine.control.Access;
import dev.imprint.engine.serverconfig.SessionConfig;
import java.net.NetworkInterface;
import java.nio.file.Path;

/**
 * One session to serve, checked before the server starts: its configuration and its image.
 *
 * @param config the session's keys
 * @param image the image file (already opened once and found intact)
 * @param size the image file's size
 * @param digest the image digest, hex
 * @param access who may use the control channel
 * @param networkInterface where the stream is sent (null: the system's choice)
 */
public record ServedImage(
    SessionConfig config,
    Path image,
    long size,
    String digest,
    Access access,
    NetworkInterface networkInterface) {
  public String name() {
    return config.name();
  }
}
