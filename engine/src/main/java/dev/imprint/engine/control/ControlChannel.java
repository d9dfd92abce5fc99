package dev.imprint.engine.control;

import dev.imprint.engine.job.Refusal;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The control and repair channel of a multicast session (docs/PROTOCOL.md, "Control channel"):
 * HTTP/1.1 on the session's TCP port, with a handshake, the image itself (range requests), and
 * client reports.
 */
public final class ControlChannel {
  /** The protocol version this build speaks; the handshake refuses any other. */
  public static final int VERSION = 1;

  public static final int DEFAULT_PORT = 7800;
  public static final String HANDSHAKE = "/imprint/v1/handshake";
  public static final String IMAGE = "/imprint/v1/image";
  public static final String REPORT = "/imprint/v1/report";

  /** Carries the shared token when the server requires one: {@code Authorization: Bearer T}. */
  public static final String AUTHORIZATION = "Authorization";

  private ControlChannel() {}

  /** Whether {@code spec} names a multicast server: {@code asr://} or {@code imprint://}. */
  public static boolean isServerUrl(String spec) {
    String s = spec.toLowerCase(Locale.ROOT);
    return s.startsWith("asr://") || s.startsWith("imprint://");
  }

  /**
   * The HTTP base of the control channel that {@code asr://host[:port]} names.
   *
   * @throws Refusal when it is not host[:port]
   */
  public static URI base(String spec) throws Refusal {
    URI u;
    try {
      u = new URI(spec);
    } catch (URISyntaxException e) {
      throw new Refusal(spec + " is not a server address: write asr://HOST[:PORT]");
    }
    if (u.getHost() == null
        || (u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/"))
        || u.getQuery() != null) {
      throw new Refusal(spec + " is not a server address: write asr://HOST[:PORT]");
    }
    int port = u.getPort() < 0 ? DEFAULT_PORT : u.getPort();
    try {
      return new URI("http", null, u.getHost(), port, "/", null, null);
    } catch (URISyntaxException e) {
      throw new Refusal(spec + " is not a server address: write asr://HOST[:PORT]");
    }
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
