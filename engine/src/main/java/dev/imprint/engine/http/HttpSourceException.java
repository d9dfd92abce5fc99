package dev.imprint.engine.http;

import java.io.IOException;

/**
 * An HTTP(S) source failed in a way the user must fix or know about; the message is one line that
 * names the URL (without credentials) and says what to do. {@link #kind()} lets a command choose an
 * exit code.
 */
public class HttpSourceException extends IOException {
  /** What went wrong. */
  public enum Kind {
    /** HTTP 404. */
    NOT_FOUND,
    /** HTTP 401 or 403. */
    ACCESS_DENIED,
    /** The host name does not resolve. */
    UNKNOWN_HOST,
    /** No TCP connection could be made within the retry budget. */
    CANNOT_CONNECT,
    /** The server's certificate did not verify, or the TLS handshake failed. */
    TLS,
    /** The server ignores Range requests, which an Imprint image needs. */
    NO_RANGES,
    /** The file on the server changed while it was being read. */
    CHANGED,
    /** Retryable failures went on for longer than the retry budget. */
    GAVE_UP,
    /** Any other answer the reader cannot use (an unexpected status, a bad Content-Range). */
    PROTOCOL
  }

  private final Kind kind;

  public HttpSourceException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public HttpSourceException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
