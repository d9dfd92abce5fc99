package dev.imprint.engine.serverconfig;

/**
 * A key of a multicast server's configuration: its name in an asr property list (also accepted,
 * quoted, in HOCON), its HOCON spelling, and the command-line flag that overrides it.
 */
public enum ConfigKey {
  DATA_RATE("Data Rate", "data-rate", "BYTES_PER_SECOND"),
  MULTICAST_ADDRESS("Multicast Address", "multicast-address", "GROUP"),
  CLIENT_DATA_RATE("Client Data Rate", "client-data-rate", "BYTES_PER_SECOND"),
  DNS_SERVICE_DISCOVERY("DNS Service Discovery", "dns-service-discovery", "true|false"),
  LOOP_SUSPEND("Loop Suspend", "loop-suspend", "LOOPS"),
  MULTICAST_TTL("Multicast TTL", "multicast-ttl", "HOPS"),
  PORT("Port", "port", "PORT");

  private final String asrName;
  private final String hoconName;
  private final String valueLabel;

  ConfigKey(String asrName, String hoconName, String valueLabel) {
    this.asrName = asrName;
    this.hoconName = hoconName;
    this.valueLabel = valueLabel;
  }

  /** The key as asr's property lists spell it, e.g. {@code Data Rate}. */
  public String asrName() {
    return asrName;
  }

  /** The key as a HOCON file may spell it instead, e.g. {@code data-rate}. */
  public String hoconName() {
    return hoconName;
  }

  /** The command-line flag, e.g. {@code --data-rate}. */
  public String flag() {
    return "--" + hoconName;
  }

  public String valueLabel() {
    return valueLabel;
  }

  /** The key for a name in any spelling (asr's, HOCON's, or the flag), or null. */
  public static ConfigKey named(String name) {
    for (ConfigKey k : values()) {
      if (k.asrName.equalsIgnoreCase(name)
          || k.hoconName.equalsIgnoreCase(name)
          || k.flag().equals(name)) {
        return k;
      }
    }
    return null;
  }
}
