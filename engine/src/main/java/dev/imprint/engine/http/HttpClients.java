package dev.imprint.engine.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Authenticator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PasswordAuthentication;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Builds the {@link HttpClient} and the TLS context for a set of {@link HttpOptions}: TLS trust,
 * proxy, timeouts.
 */
final class HttpClients {
  private HttpClients() {}

  /** Splits "Name: value"; fails on anything else. */
  static String[] parseHeader(String header) {
    int colon = header.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "header \"" + header + "\" is not of the form \"Name: value\"");
    }
    String name = header.substring(0, colon).trim();
    String value = header.substring(colon + 1).trim();
    if (name.isEmpty() || !name.chars().allMatch(c -> c > 32 && c < 127 && c != ':')) {
      throw new IllegalArgumentException("header \"" + header + "\" has an invalid name");
    }
    return new String[] {name, value};
  }

  /** TLS contexts being set up ahead of their first use, by the identity of their options. */
  private static final Map<HttpOptions, CompletableFuture<SSLContext>> EARLY =
      Collections.synchronizedMap(new IdentityHashMap<>());

  /**
   * Starts setting up the TLS context for {@code options} on another thread when {@code source} is
   * an https:// URL. That loads the system's trust store and a few hundred classes (a few hundred
   * ms on a busy machine); a command that knows early its source is such a URL overlaps it with the
   * rest of its start-up. Plain http:// needs nothing ahead: its requests go through {@link
   * FastHttp}, and java.net.http is built only if a server needs it.
   */
  static void prepare(HttpOptions options, String source) {
    if (source == null || !source.regionMatches(true, 0, "https://", 0, 8)) {
      return;
    }
    EARLY.computeIfAbsent(
        options,
        o ->
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return sslContext(o);
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                }));
  }

  /** The TLS context for {@code options}: the one {@link #prepare} set up, else a new one. */
  static SSLContext tls(HttpOptions options) throws IOException {
    CompletableFuture<SSLContext> early = EARLY.remove(options);
    if (early != null) {
      try {
        return early.join();
      } catch (CompletionException e) {
        // Set up again below, so its failure is reported where it always was.
      }
    }
    return sslContext(options);
  }

  static HttpClient build(HttpOptions options, SSLContext tls) {
    HttpClient.Builder b =
        HttpClient.newBuilder()
            // One TCP connection per request in flight: parallel range GETs spread over several
            // connections, which is what makes them faster than one stream.
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(options.connectTimeout())
            .sslContext(tls);
    EnvProxy proxy = EnvProxy.from(options.environment());
    if (proxy != null) {
      b.proxy(proxy);
      if (proxy.authenticator() != null) {
        b.authenticator(proxy.authenticator());
      }
    }
    return b.build();
  }

  // ---------------------------------------------------------------- TLS

  static SSLContext sslContext(HttpOptions options) throws IOException {
    try {
      X509ExtendedTrustManager tm;
      if (options.insecure()) {
        tm = new TrustAll();
      } else {
        X509ExtendedTrustManager system = trustManager(null);
        Optional<Path> pem = options.cacert();
        tm = pem.isEmpty() ? system : new Either(system, trustManager(loadPem(pem.get())));
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {tm}, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  private static KeyStore loadPem(Path pem) throws IOException, GeneralSecurityException {
    Collection<? extends Certificate> certs;
    try (InputStream in = Files.newInputStream(pem)) {
      certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IOException("CA file " + pem + " (--cacert) does not exist: check the path");
    } catch (CertificateException e) {
      throw new IOException(
          "CA file " + pem + " (--cacert) is not a PEM certificate file: " + e.getMessage());
    }
    if (certs.isEmpty()) {
      throw new IOException("CA file " + pem + " (--cacert) holds no certificate");
    }
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    int i = 0;
    for (Certificate c : certs) {
      ks.setCertificateEntry("cacert-" + i++, c);
    }
    return ks;
  }

  private static X509ExtendedTrustManager trustManager(KeyStore ks)
      throws GeneralSecurityException {
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (TrustManager t : tmf.getTrustManagers()) {
      if (t instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager available");
  }

  /** Trusts a chain the system store or the --cacert file accepts (host names checked by both). */
  private static final class Either extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager first;
    private final X509ExtendedTrustManager second;

    Either(X509ExtendedTrustManager first, X509ExtendedTrustManager second) {
      this.first = first;
      this.second = second;
    }

    private interface Check {
      void run(X509ExtendedTrustManager tm) throws CertificateException;
    }

    private void check(Check c) throws CertificateException {
      try {
        c.run(second);
      } catch (CertificateException e) {
        try {
          c.run(first);
        } catch (CertificateException ignored) {
          throw e;
        }
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(tm -> tm.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
        throws CertificateException {
      check(tm -> tm.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(tm -> tm.checkServerTrusted(chain, authType));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(tm -> tm.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
        throws CertificateException {
      check(tm -> tm.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(tm -> tm.checkClientTrusted(chain, authType));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      List<X509Certificate> all = new ArrayList<>(List.of(first.getAcceptedIssuers()));
      all.addAll(List.of(second.getAcceptedIssuers()));
      return all.toArray(new X509Certificate[0]);
    }
  }

  /**
   * --insecure: accepts any certificate for any host. An X509ExtendedTrustManager, so JSSE does not
   * wrap it in its own host name check.
   */
  private static final class TrustAll extends X509ExtendedTrustManager {
    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, java.net.Socket s) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, java.net.Socket s) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  // ---------------------------------------------------------------- proxies

  /**
   * https_proxy / http_proxy / no_proxy as curl reads them (lowercase wins over uppercase; no_proxy
   * is a comma list of host names, domain suffixes, IP addresses or "*"). Loopback hosts are never
   * proxied.
   */
  static final class EnvProxy extends ProxySelector {
    private final Proxy http;
    private final Proxy https;
    private final List<String> noProxy;
    private final Authenticator authenticator;

    private EnvProxy(Proxy http, Proxy https, List<String> noProxy, Authenticator auth) {
      this.http = http;
      this.https = https;
      this.noProxy = noProxy;
      this.authenticator = auth;
    }

    static EnvProxy from(Map<String, String> env) {
      String httpUrl = env(env, "http_proxy");
      String httpsUrl = env(env, "https_proxy");
      if (httpUrl == null && httpsUrl == null) {
        return null;
      }
      List<String> no = new ArrayList<>();
      String np = env(env, "no_proxy");
      if (np != null) {
        for (String s : np.split(",")) {
          String t = s.trim().toLowerCase(Locale.ROOT);
          if (t.startsWith("*.")) {
            t = t.substring(1);
          }
          if (!t.isEmpty()) {
            no.add(t);
          }
        }
      }
      String[] credentials = new String[2];
      Proxy http = proxy(httpUrl, credentials);
      Proxy https = proxy(httpsUrl, credentials);
      Authenticator auth = null;
      if (credentials[0] != null) {
        String user = credentials[0];
        char[] pass = credentials[1] == null ? new char[0] : credentials[1].toCharArray();
        auth =
            new Authenticator() {
              @Override
              protected PasswordAuthentication getPasswordAuthentication() {
                return getRequestorType() == RequestorType.PROXY
                    ? new PasswordAuthentication(user, pass)
                    : null;
              }
            };
      }
      return new EnvProxy(http, https, no, auth);
    }

    Authenticator authenticator() {
      return authenticator;
    }

    private static String env(Map<String, String> env, String name) {
      String v = env.get(name);
      if (v == null || v.isBlank()) {
        v = env.get(name.toUpperCase(Locale.ROOT));
      }
      return v == null || v.isBlank() ? null : v.trim();
    }

    private static Proxy proxy(String url, String[] credentials) {
      if (url == null) {
        return null;
      }
      URI u = URI.create(url.contains("://") ? url : "http://" + url);
      if (u.getRawUserInfo() != null && credentials[0] == null) {
        String[] up = u.getRawUserInfo().split(":", 2);
        credentials[0] = URLDecoder.decode(up[0], StandardCharsets.UTF_8);
        credentials[1] = up.length > 1 ? URLDecoder.decode(up[1], StandardCharsets.UTF_8) : "";
      }
      int port = u.getPort() >= 0 ? u.getPort() : 80;
      return new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(u.getHost(), port));
    }

    @Override
    public List<Proxy> select(URI uri) {
      Proxy p = "https".equalsIgnoreCase(uri.getScheme()) ? https : http;
      if (p == null || bypass(uri.getHost())) {
        return List.of(Proxy.NO_PROXY);
      }
      return List.of(p);
    }

    boolean bypass(String host) {
      if (host == null) {
        return true;
      }
      String h = host.toLowerCase(Locale.ROOT);
      if (h.startsWith("[") && h.endsWith("]")) {
        h = h.substring(1, h.length() - 1);
      }
      if (h.equals("localhost") || h.endsWith(".localhost") || isLoopbackLiteral(h)) {
        return true;
      }
      for (String n : noProxy) {
        if (n.equals("*")) {
          return true;
        }
        String entry = n;
        int colon = entry.lastIndexOf(':');
        if (colon > 0 && entry.indexOf(':') == colon) {
          entry = entry.substring(0, colon); // host:port: ports are not distinguished
        }
        if (entry.startsWith(".")) {
          if (h.endsWith(entry) || h.equals(entry.substring(1))) {
            return true;
          }
        } else if (h.equals(entry) || h.endsWith("." + entry)) {
          return true;
        }
      }
      return false;
    }

    private static boolean isLoopbackLiteral(String h) {
      if (!h.matches("[0-9.]+") && !h.contains(":")) {
        return false;
      }
      try {
        return InetAddress.getByName(h).isLoopbackAddress(); // a literal: no DNS lookup
      } catch (IOException e) {
        return false;
      }
    }

    @Override
    public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {}
  }
}
