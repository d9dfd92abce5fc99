package dev.imprint.engine.http;

/**
 * What identifies one version of a file on a server: its ETag, Last-Modified and length (each may
 * be missing: null or -1).
 */
record Validators(String etag, String lastModified, long length) {
  /** A strong ETag: one If-Match and If-Range may use. */
  String strongEtag() {
    return etag != null && !etag.startsWith("W/") ? etag : null;
  }

  /**
   * True when {@code other} is known to be a different version (a missing value proves nothing).
   */
  boolean differs(Validators other) {
    return (etag != null && other.etag != null && !etag.equals(other.etag))
        || (lastModified != null
            && other.lastModified != null
            && !lastModified.equals(other.lastModified))
        || (length >= 0 && other.length >= 0 && length != other.length);
  }

  /** For messages: "ETag "a" -> "b"", or the Last-Modified or length change. */
  String difference(Validators other) {
    if (other == null) {
      return etag != null
          ? "ETag " + etag + " no longer matches"
          : lastModified != null
              ? "Last-Modified " + lastModified + " no longer matches"
              : "it no longer matches";
    }
    if (etag != null && other.etag != null && !etag.equals(other.etag)) {
      return "ETag " + etag + " -> " + other.etag;
    }
    if (lastModified != null
        && other.lastModified != null
        && !lastModified.equals(other.lastModified)) {
      return "Last-Modified " + lastModified + " -> " + other.lastModified;
    }
    if (length >= 0 && other.length >= 0 && length != other.length) {
      return "length " + length + " -> " + other.length + " bytes";
    }
    return etag != null ? "ETag " + etag + " no longer matches" : "it no longer matches";
  }
}
