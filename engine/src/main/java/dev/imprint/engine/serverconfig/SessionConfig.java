package dev.imprint.engine.serverconfig;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * One multicast session as configured, checked: asr's keys with asr's defaults.
 *
 * @param name how the session is shown and advertised (the image's file name unless given)
 * @param source the image it streams (null when the command line gives it)
 * @param dataRate the send rate ceiling in bytes per second, never exceeded
 * @param group the multicast group (224.0.0.0 to 239.255.255.255)
 * @param clientDataRate what clients can write, in bytes per second, when known
 * @param dnsServiceDiscovery whether the session is advertised over DNS-SD
 * @param loopSuspend loops without a client after which the stream pauses (0: never)
 * @param ttl the multicast TTL (hops)
 * @param port the TCP control port and the UDP data port
 * @param warnings lines for the user that are not errors (TTL 1)
 */
public record SessionConfig(
    String name,
    Path source,
    long dataRate,
    Inet4Address group,
    OptionalLong clientDataRate,
    boolean dnsServiceDiscovery,
    int loopSuspend,
    int ttl,
    int port,
    List<String> warnings) {
  public static final boolean DEFAULT_DNS_SERVICE_DISCOVERY = true;
  public static final int DEFAULT_LOOP_SUSPEND = 0;
  public static final int DEFAULT_TTL = 3;
  public static final int DEFAULT_PORT = 7800;

  public SessionConfig {
    warnings = List.copyOf(warnings);
  }

  public SessionConfig withSource(Path image, String defaultName) {
    return new SessionConfig(
        name == null ? defaultName : name,
        image,
        dataRate,
        group,
        clientDataRate,
        dnsServiceDiscovery,
        loopSuspend,
        ttl,
        port,
        warnings);
  }

  /** The rate the stream may use: the lower of the Data Rate and the Client Data Rate. */
  public long sendRateCeiling() {
    return clientDataRate.isPresent() ? Math.min(dataRate, clientDataRate.getAsLong()) : dataRate;
  }

  public String groupText() {
    return ((InetAddress) group).getHostAddress();
  }
}
