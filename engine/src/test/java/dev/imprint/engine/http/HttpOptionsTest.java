package dev.imprint.engine.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Options, proxies from the environment and URLs; no server needed. */
class HttpOptionsTest {
  @Test
  void defaults() {
    HttpOptions o = HttpOptions.defaults();
    assertEquals(4, o.connections());
    assertEquals(java.time.Duration.ofMinutes(5), o.retryBudget());
    assertTrue(o.cacert().isEmpty());
    assertTrue(!o.insecure());
  }

  @Test
  void malformedHeaderIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> HttpOptions.defaults().withHeaders(List.of("no colon here")));
    assertTrue(e.getMessage().contains("Name: value"), e.getMessage());
    HttpOptions.defaults().withHeaders(List.of("Authorization: Bearer abc:def"));
  }

  @Test
  void proxiesFromTheEnvironment() {
    HttpClients.EnvProxy p =
        HttpClients.EnvProxy.from(
            Map.of(
                "http_proxy", "http://proxy.example:3128",
                "HTTPS_PROXY", "secure.example:8443",
                "no_proxy", "internal.example, .corp.example,10.1.2.3"));
    assertEquals(
        List.of(
            new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved("proxy.example", 3128))),
        p.select(URI.create("http://images.example/x")));
    assertEquals(
        List.of(
            new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved("secure.example", 8443))),
        p.select(URI.create("https://images.example/x")));
    for (String direct :
        new String[] {
          "http://internal.example/x",
          "http://a.internal.example/x",
          "http://b.corp.example/x",
          "http://10.1.2.3/x",
          "http://127.0.0.1:8080/x",
          "http://localhost/x",
          "http://[::1]/x"
        }) {
      assertEquals(List.of(Proxy.NO_PROXY), p.select(URI.create(direct)), direct);
    }
    assertEquals(null, HttpClients.EnvProxy.from(Map.of()));
    HttpClients.EnvProxy all =
        HttpClients.EnvProxy.from(Map.of("http_proxy", "http://p:1", "NO_PROXY", "*"));
    assertEquals(List.of(Proxy.NO_PROXY), all.select(URI.create("http://anything.example/")));
  }

  @Test
  void urlsNeverShowCredentials() throws Exception {
    URI u = HttpUrls.parse("https://bob:pa%3Ass@host.example:8443/a/b.imprint?x=1");
    assertEquals("https://host.example:8443/a/b.imprint?x=1", HttpUrls.display(u));
    assertTrue(HttpUrls.isHttpUrl("HTTP://x/y"));
    assertTrue(!HttpUrls.isHttpUrl("/dev/sda"));
    HttpSourceException e =
        assertThrows(HttpSourceException.class, () -> HttpUrls.parse("http://bob:secret@/x y"));
    assertTrue(!e.getMessage().contains("secret"), e.getMessage());
  }
}
