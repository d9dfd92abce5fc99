package dev.imprint.engine.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** HTTPS against nginx with a test CA made by openssl: unknown CA, --cacert, --insecure. */
@Timeout(120)
class HttpsTest {
  @TempDir Path dir;
  private NginxServer nginx;
  private byte[] data;
  private Path ca;

  @BeforeEach
  void start() throws Exception {
    Root.assume(NginxServer.available(), "nginx is not installed (apt-get install nginx-light)");
    Root.assume(
        Files.isExecutable(Path.of("/usr/bin/openssl")),
        "openssl is not installed (apt-get install openssl)");
    Path pki = Files.createDirectories(dir.resolve("pki"));
    ca = pki.resolve("ca.pem");
    Files.writeString(
        pki.resolve("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            + "basicConstraints=CA:FALSE\n"
            + "keyUsage=critical,digitalSignature,keyEncipherment\n"
            + "extendedKeyUsage=serverAuth\n");
    openssl(
        pki,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Imprint test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign");
    openssl(
        pki,
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1");
    openssl(
        pki,
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext");
    nginx =
        new NginxServer(
            dir.resolve("srv"), "2m", pki.resolve("server.pem"), pki.resolve("server.key"));
    data = TestFiles.write(nginx.www().resolve("disk.bin"), 3 << 20, 5);
    nginx.start();
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl timed out");
    assertEquals(0, p.exitValue(), "openssl " + String.join(" ", args) + ": " + out);
  }

  @AfterEach
  void stop() {
    if (nginx != null) {
      nginx.close();
    }
  }

  private void readAndCompare(URI uri, HttpOptions options) throws IOException {
    try (HttpRangeReader r = HttpRangeReader.open(uri, options)) {
      assertEquals(data.length, r.size());
      ByteBuffer b = ByteBuffer.allocate(100_000);
      r.readFully(b, 1_000_000);
      assertArrayEquals(Arrays.copyOfRange(data, 1_000_000, 1_100_000), b.array());
    }
  }

  @Test
  void unknownCaIsReportedWithTheCacertHint() {
    HttpSourceException e =
        assertThrows(
            HttpSourceException.class,
            () -> HttpRangeReader.open(nginx.uri("/disk.bin"), TestFiles.options()));
    assertEquals(HttpSourceException.Kind.TLS, e.kind());
    assertTrue(
        e.getMessage().startsWith("the TLS certificate of 127.0.0.1 could not be verified"),
        e.getMessage());
    assertTrue(
        e.getMessage()
            .endsWith(
                ": pass the issuing CA with --cacert FILE (or --insecure to skip checks, not"
                    + " recommended)"),
        e.getMessage());
    HttpSourceException s =
        assertThrows(
            HttpSourceException.class,
            () -> HttpStream.open(nginx.uri("/disk.bin"), TestFiles.options(), w -> {}));
    assertEquals(HttpSourceException.Kind.TLS, s.kind());
  }

  @Test
  void cacertIsTrusted() throws Exception {
    HttpOptions o = TestFiles.options().withCacert(ca);
    readAndCompare(nginx.uri("/disk.bin"), o);
    readAndCompare(URI.create("https://localhost:" + nginx.port() + "/disk.bin"), o);
    try (InputStream in = HttpStream.open(nginx.uri("/disk.bin"), o, w -> {})) {
      assertArrayEquals(data, in.readAllBytes());
    }
  }

  @Test
  void insecureSkipsChecks() throws Exception {
    readAndCompare(nginx.uri("/disk.bin"), TestFiles.options().withInsecure(true));
  }
}
