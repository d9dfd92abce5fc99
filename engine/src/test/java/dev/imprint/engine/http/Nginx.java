package dev.imprint.engine.http;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real nginx serving {@code www/} under a test's temporary directory on a loopback port, as one
 * foreground process ({@code master_process off}) so that killing it drops every connection.
 *
 * <p>Locations: {@code /forbidden} answers 403; {@code /unavailable} 503; {@code /slow/F} serves
 * www/F at 2 MB/s; {@code /noranges/F} ignores Range headers; {@code /slownoranges/F} both.
 */
final class Nginx implements AutoCloseable {
  private static final String BINARY = findBinary();

  final Path dir;
  final Path www;
  final int port;
  private final Path cert;
  private final Path key;
  private Process process;

  Nginx(Path dir) throws IOException {
    this(dir, null, null);
  }

  /** With {@code cert} and {@code key} (PEM), serves HTTPS. */
  Nginx(Path dir, Path cert, Path key) throws IOException {
    this.dir = dir;
    this.www = Files.createDirectories(dir.resolve("www"));
    this.cert = cert;
    this.key = key;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      this.port = s.getLocalPort();
    }
    Files.createDirectories(dir.resolve("tmp"));
    Files.writeString(dir.resolve("nginx.conf"), config());
  }

  static boolean available() {
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

  private String config() {
    String d = dir.toAbsolutePath().toString();
    String w = www.toAbsolutePath().toString();
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
        "  access_log off;",
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
        "    root " + w + ";",
        "    location /forbidden { return 403; }",
        "    location /unavailable { return 503; }",
        "    location /slow/ { alias " + w + "/; limit_rate 2m; }",
        "    location /noranges/ { alias " + w + "/; max_ranges 0; }",
        "    location /slownoranges/ { alias " + w + "/; max_ranges 0; limit_rate 2m; }",
        "  }",
        "}",
        "");
  }

  URI uri(String path) {
    return URI.create((cert != null ? "https" : "http") + "://127.0.0.1:" + port + path);
  }

  synchronized void start() throws IOException, InterruptedException {
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
        Thread.sleep(20); // polling interval, not a wait for readiness
      }
    }
  }

  /** Kills nginx at once (SIGKILL): open connections break. */
  synchronized void stop() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      process = null;
    }
  }

  void restart() throws IOException, InterruptedException {
    stop();
    start();
  }

  String log() {
    try {
      String out =
          Files.exists(dir.resolve("nginx.out")) ? Files.readString(dir.resolve("nginx.out")) : "";
      String err =
          Files.exists(dir.resolve("error.log")) ? Files.readString(dir.resolve("error.log")) : "";
      return (out + err).strip();
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
