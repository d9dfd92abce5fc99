package dev.imprint.engine.job;

import dev.imprint.engine.control.ClientOptions;
import dev.imprint.engine.control.ControlChannel;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpUrls;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What a front end names as the source of a job: a path, {@code -}, or an http(s) URL, with how to
 * read it.
 *
 * @param spec what the user typed
 * @param http how HTTP(S) sources are fetched
 * @param trust public keys of which one must have signed the image (empty: any image)
 * @param sourceVolume partition number of a whole-device image to restore alone, or null
 * @param allBlocks raw sources: copy every block, not only those their filesystems use
 * @param stdin where {@code -} reads from
 * @param warnings lines for the user that are not errors (e.g. a server without range support)
 * @param bmap a bmap file for a raw source (restore's --bmap), or null to look beside it
 * @param server how an {@code asr://} or {@code imprint://} source is received
 */
public record SourceSpec(
    String spec,
    HttpOptions http,
    List<Path> trust,
    Integer sourceVolume,
    boolean allBlocks,
    Supplier<InputStream> stdin,
    Consumer<String> warnings,
    Path bmap,
    ClientOptions server) {
  public static final String STDIN = "-";

  public SourceSpec {
    server = server == null ? ClientOptions.defaults() : server;
    trust = trust == null ? List.of() : List.copyOf(trust);
    http = http == null ? HttpOptions.defaults() : http;
    warnings = warnings == null ? w -> {} : warnings;
    stdin = stdin == null ? () -> System.in : stdin;
  }

  /** A source without an explicit bmap (one beside a raw image is still found), not a server. */
  public SourceSpec(
      String spec,
      HttpOptions http,
      List<Path> trust,
      Integer sourceVolume,
      boolean allBlocks,
      Supplier<InputStream> stdin,
      Consumer<String> warnings) {
    this(spec, http, trust, sourceVolume, allBlocks, stdin, warnings, null, null);
  }

  public static SourceSpec of(String spec) {
    return new SourceSpec(spec, null, null, null, false, null, null);
  }

  public boolean isStdin() {
    return spec.equals(STDIN);
  }

  public boolean isHttp() {
    return HttpUrls.isHttpUrl(spec);
  }

  /** Whether it names a multicast server: {@code asr://host[:port]} or {@code imprint://}. */
  public boolean isServer() {
    return ControlChannel.isServerUrl(spec);
  }

  /** The local file or device, or null for a pipe or a URL. */
  public Path localPath() {
    return isStdin() || isHttp() || isServer() ? null : Path.of(spec);
  }

  /** How messages name it. */
  public String where() {
    return isStdin() ? "standard input" : spec;
  }
}
