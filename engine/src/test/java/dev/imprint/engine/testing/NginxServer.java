package dev.imprint.engine.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real nginx for tests, serving {@code www/} under {@code dir} on a free loopback port. It runs
 * as one foreground process ({@code master_process off}), so killing it drops every connection at
 * once, and {@link #start()} brings it back on the same port. Requests are logged to {@code
 * access.log} (nginx's combined format) and to {@code ranges.log} as {@code METHOD STATUS "RANGE"
 * BYTES} ({@link #accessLog()}): a request cut by {@link #stop()} is not logged, the one that
 * resumed it is.
 *
 * <p>Locations: {@code /forbidden} answers 403; {@code /unavailable} 503; {@code /slow/F} serves
 * www/F at {@code slowRate} per connection (nginx {@code limit_rate}); {@code /medium/F} at 8 MB/s;
 * {@code /noranges/F} ignores Range headers; {@code /slownoranges/F} both slow and without ranges.
 */
public final class NginxServer implements AutoCloseable {
  private static final String BINARY = findBinary();

  private final Path dir;
  private final Path www;
  private final int port;
  private final Path cert;
  private final Path key;
  private Process process;

  /** Plain HTTP; {@code slowRate} is an nginx rate such as "1m". */
  public NginxServer(Path dir, String slowRate) throws IOException {
    this(dir, slowRate, null, null);
  }

  /** HTTPS when {@code cert} and {@code key} (PEM) are given. */
  public NginxServer(Path dir, String slowRate, Path cert, Path key) throws IOException {
    this.dir = dir.toAbsolutePath();
    this.www = Files.createDirectories(this.dir.resolve("www"));
    this.cert = cert;
    this.key = key;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      this.port = s.getLocalPort();
    }
    Files.createDirectories(this.dir.resolve("tmp"));
    Files.writeString(this.dir.resolve("nginx.conf"), config(slowRate));
  }

  /** Whether an nginx binary is installed. */
  public static boolean available() {
    return BINARY != null;
  }

  private static String findBinary() {
    for (String p : new String[] {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"}) {
      if (Files.isExecutable(Path.of(p))) {
        return p;
      }
    }
    return null;
  }

  private String config(String slowRate) {
    String d = dir.toString();
    boolean tls = cert != null;
    return String.join(
        "\n",
        "daemon off;",
        "master_process off;",
        "worker_processes 1;",
        "pid " + d + "/nginx.pid;",
        "error_log " + d + "/error.log warn;",
        "root".equals(System.getProperty("user.name")) ? "user root;" : "",
        "events { worker_connections 512; }",
        "http {",
        "  access_log " + d + "/access.log;",
        // One line per finished request: method, status, Range header, body bytes sent.
        "  log_format ranges '$request_method $status \"$http_range\" $body_bytes_sent';",
        "  access_log " + d + "/ranges.log ranges;",
        "  default_type application/octet-stream;",
        "  client_body_temp_path " + d + "/tmp/body;",
        "  proxy_temp_path " + d + "/tmp/proxy;",
        "  fastcgi_temp_path " + d + "/tmp/fastcgi;",
        "  uwsgi_temp_path " + d + "/tmp/uwsgi;",
        "  scgi_temp_path " + d + "/tmp/scgi;",
        "  sendfile on;",
        "  keepalive_requests 100000;",
        "  server {",
        "    listen 127.0.0.1:" + port + (tls ? " ssl;" : ";"),
        tls ? "    ssl_certificate " + cert.toAbsolutePath() + ";" : "",
        tls ? "    ssl_certificate_key " + key.toAbsolutePath() + ";" : "",
        "    root " + www + ";",
        "    location /forbidden { return 403; }",
        "    location /unavailable { return 503; }",
        "    location /slow/ { alias " + www + "/; limit_rate " + slowRate + "; }",
        "    location /medium/ { alias " + www + "/; limit_rate 8m; }",
        "    location /noranges/ { alias " + www + "/; max_ranges 0; }",
        "    location /slownoranges/ { alias "
            + www
            + "/; max_ranges 0; limit_rate "
            + slowRate
            + "; }",
        "  }",
        "}",
        "");
  }

  /** The directory served at {@code /}. */
  public Path www() {
    return www;
  }

  public int port() {
    return port;
  }

  /** The URL of {@code path} (which starts with a slash) on this server. */
  public String url(String path) {
    return (cert != null ? "https" : "http") + "://127.0.0.1:" + port + path;
  }

  /** The URI of {@code path} (which starts with a slash) on this server. */
  public URI uri(String path) {
    return URI.create(url(path));
  }

  /** Starts nginx and returns once it accepts connections. */
  public synchronized void start() throws IOException, InterruptedException {
    if (process != null && process.isAlive()) {
      return;
    }
    process =
        new ProcessBuilder(
                BINARY,
                "-e",
                dir.resolve("error.log").toString(),
                "-c",
                dir.resolve("nginx.conf").toString(),
                "-p",
                dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("nginx.out").toFile()))
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        if (!process.isAlive()) {
          throw new IOException("nginx exited at start: " + log());
        }
        if (System.nanoTime() > deadline) {
          stop();
          throw new IOException("nginx did not listen on port " + port + " in 15 s: " + log());
        }
        Thread.sleep(20); // polling interval
      }
    }
  }

  /** Kills nginx at once (SIGKILL): open connections break. */
  public synchronized void stop() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      process = null;
    }
  }

  /**
   * Bytes nginx has written so far (to sockets and files, sendfile included), from {@code
   * /proc/PID/io}; 0 when it is not running.
   */
  public synchronized long bytesWritten() throws IOException {
    if (process == null || !process.isAlive()) {
      return 0;
    }
    for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/io"))) {
      if (line.startsWith("wchar:")) {
        return Long.parseLong(line.substring(6).trim());
      }
    }
    return 0;
  }

  /** Kills nginx and starts it again on the same port. */
  public void restart() throws IOException, InterruptedException {
    stop();
    start();
  }

  /** The finished requests so far from ranges.log, one {@code METHOD STATUS "RANGE" BYTES} each. */
  public java.util.List<String> accessLog() throws IOException {
    Path p = dir.resolve("ranges.log");
    return Files.exists(p) ? Files.readAllLines(p) : java.util.List.of();
  }

  /**
   * The first bytes of the ranges asked for by logged GETs ({@code Range: bytes=A-...}), in order.
   */
  public java.util.List<Long> rangeStarts() throws IOException {
    java.util.List<Long> starts = new java.util.ArrayList<>();
    java.util.regex.Pattern p = java.util.regex.Pattern.compile("^GET \\d+ \"bytes=(\\d+)-");
    for (String line : accessLog()) {
      java.util.regex.Matcher m = p.matcher(line);
      if (m.find()) {
        starts.add(Long.parseLong(m.group(1)));
      }
    }
    return starts;
  }

  /** nginx's own output and error log, for failure messages. */
  public String log() {
    try {
      StringBuilder b = new StringBuilder();
      for (String f : new String[] {"nginx.out", "error.log"}) {
        Path p = dir.resolve(f);
        if (Files.exists(p)) {
          b.append(Files.readString(p));
        }
      }
      return b.toString().strip();
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    try {
      stop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
