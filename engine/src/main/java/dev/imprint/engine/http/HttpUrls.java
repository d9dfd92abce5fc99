package dev.imprint.engine.http;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/** Recognising and printing HTTP(S) URLs. */
public final class HttpUrls {
  private HttpUrls() {}

  /** True when {@code spec} names an http:// or https:// URL (any letter case in the scheme). */
  public static boolean isHttpUrl(String spec) {
    String s = spec.toLowerCase(Locale.ROOT);
    return s.startsWith("http://") || s.startsWith("https://");
  }

  /**
   * Parses a URL typed by the user.
   *
   * @throws HttpSourceException the URL is malformed or has no host
   */
  public static URI parse(String spec) throws HttpSourceException {
    URI uri;
    try {
      uri = new URI(spec);
    } catch (URISyntaxException e) {
      throw new HttpSourceException(
          HttpSourceException.Kind.PROTOCOL,
          "invalid URL "
              + redact(spec)
              + ": "
              + e.getReason()
              + " (at index "
              + e.getIndex()
              + ")");
    }
    if (!isHttpUrl(spec) || uri.getHost() == null) {
      throw new HttpSourceException(
          HttpSourceException.Kind.PROTOCOL,
          "invalid URL " + redact(spec) + ": expected http://HOST[:PORT]/PATH or https://...");
    }
    return uri;
  }

  /** The URL without user info (credentials), for messages and requests. */
  public static URI withoutUserInfo(URI uri) {
    if (uri.getRawUserInfo() == null) {
      return uri;
    }
    StringBuilder s = new StringBuilder();
    s.append(uri.getScheme()).append("://").append(uri.getHost());
    if (uri.getPort() >= 0) {
      s.append(':').append(uri.getPort());
    }
    if (uri.getRawPath() != null) {
      s.append(uri.getRawPath());
    }
    if (uri.getRawQuery() != null) {
      s.append('?').append(uri.getRawQuery());
    }
    return URI.create(s.toString());
  }

  /** The URL as a message may show it: no user info. */
  public static String display(URI uri) {
    return withoutUserInfo(uri).toString();
  }

  /** A typed URL with anything between "://" and "@" removed, for messages about bad URLs. */
  static String redact(String spec) {
    int scheme = spec.indexOf("://");
    int at = spec.indexOf('@');
    int slash = scheme < 0 ? -1 : spec.indexOf('/', scheme + 3);
    if (scheme >= 0 && at > scheme && (slash < 0 || at < slash)) {
      return spec.substring(0, scheme + 3) + spec.substring(at + 1);
    }
    return spec;
  }

  /** "host:port", with the scheme's default port when the URL has none. */
  static String hostPort(URI uri) {
    int port = uri.getPort();
    if (port < 0) {
      port = "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }
    return uri.getHost() + ":" + port;
  }
}
