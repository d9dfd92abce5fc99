package dev.imprint.engine.serverconfig;

/**
 * A commented example configuration ({@code imprint server --write-config FILE}): an asr property
 * list, or HOCON when the file name ends in {@code .conf}.
 */
public final class ExampleConfig {
  private ExampleConfig() {}

  public static String forFile(String fileName) {
    return fileName.endsWith(".conf") ? hocon() : plist();
  }

  static String plist() {
    return """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
        <!-- imprint server (and asr server) configuration.
             Run: imprint -server THIS_FILE -source IMAGE
             Each key can also be given as a command-line flag, which wins (imprint server help). -->
        <plist version="1.0">
        <dict>
        \t<!-- Required: the most bytes per second the stream may send; never exceeded. -->
        \t<key>Data Rate</key>
        \t<integer>50000000</integer>
        \t<!-- Required: the multicast group, 224.0.0.0 to 239.255.255.255
        \t     (239.x.y.z is for use inside one organisation). -->
        \t<key>Multicast Address</key>
        \t<string>239.1.2.3</string>
        \t<!-- Optional: bytes per second the slowest client can write; the stream never goes
        \t     faster. -->
        \t<!-- <key>Client Data Rate</key> <integer>30000000</integer> -->
        \t<!-- Advertise the session over DNS-SD (Bonjour); default true. -->
        \t<key>DNS Service Discovery</key>
        \t<true/>
        \t<!-- After this many loops with no client, pause until one arrives; 0 = never. -->
        \t<key>Loop Suspend</key>
        \t<integer>0</integer>
        \t<!-- Router hops the stream may cross; default 3, 1 = this segment only, 0 refused. -->
        \t<key>Multicast TTL</key>
        \t<integer>3</integer>
        \t<!-- TCP control and repair port, and the UDP port of the stream; default 7800. -->
        \t<key>Port</key>
        \t<integer>7800</integer>
        </dict>
        </plist>
        """;
  }

  static String hocon() {
    return """
        # imprint server configuration (HOCON). Run: imprint server --config THIS_FILE
        # asr's property-list keys work here too, quoted: "Data Rate" = 50000000.
        # Each key can also be given as a flag (--data-rate 50000000), which wins.

        # Required: the most bytes per second each stream may send; never exceeded.
        data-rate = 50000000
        # Optional: bytes per second the slowest client can write.
        # client-data-rate = 30000000
        # Advertise sessions over DNS-SD (Bonjour); default true.
        dns-service-discovery = true
        # After this many loops with no client, pause until one arrives; 0 = never.
        loop-suspend = 0
        # Router hops the stream may cross; default 3, 1 = this segment only, 0 refused.
        multicast-ttl = 3

        # One entry per session; the keys above apply to each unless it sets its own.
        # With one session, drop the list and give --source IMAGE on the command line.
        sessions = [
          {
            source = "golden.imprint"       # relative to this file
            multicast-address = "239.1.2.3" # required
            port = 7800                     # TCP control port and UDP data port
          }
          {
            source = "lab.imprint"
            multicast-address = "239.1.2.4"
            port = 7810
          }
        ]
        """;
  }
}
