import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.CloseableHttpResponse;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;

/**
 * Parallel range reads of one file, as the restore does them: CONNECTIONS threads take CHUNK-sized
 * ranges in turn and each range lands in a direct buffer (the chunk buffers are direct). One
 * client per run: "fast" is Imprint's HttpRangeReader (FastHttp underneath), "hc5" Apache
 * HttpClient 5 (classic, pooled). Prints one line: client, MB/s, CPU ns per byte of the measured
 * pass (the first pass warms the JIT and the server's page cache).
 *
 * <p>Usage: java HttpClientsBench fast|hc5 URL LENGTH [CONNECTIONS] [CHUNK]
 */
public final class HttpClientsBench {
  interface Reader extends AutoCloseable {
    void read(ByteBuffer dst, long pos) throws Exception;
  }

  public static void main(String[] a) throws Exception {
    String which = a[0];
    URI uri = URI.create(a[1]);
    long length = Long.parseLong(a[2]);
    int connections = a.length > 3 ? Integer.parseInt(a[3]) : 4;
    int chunk = a.length > 4 ? Integer.parseInt(a[4]) : 4 << 20;
    try (Reader r = which.equals("fast") ? fast(uri, connections) : hc5(uri, connections, chunk)) {
      pass(r, length, connections, chunk); // warm-up
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      long cpu0 = os.getProcessCpuTime();
      long t0 = System.nanoTime();
      long bytes = pass(r, length, connections, chunk);
      long wall = System.nanoTime() - t0;
      long cpu = os.getProcessCpuTime() - cpu0;
      System.out.printf(
          "%s %.1f MB/s %.3f cpu-ns/byte%n", which, bytes / (wall / 1e9) / 1e6, (double) cpu / bytes);
    }
  }

  static long pass(Reader r, long length, int connections, int chunk) throws Exception {
    AtomicLong next = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(connections);
    try {
      List<Future<Long>> done = new ArrayList<>();
      for (int t = 0; t < connections; t++) {
        done.add(
            pool.submit(
                () -> {
                  ByteBuffer buf = ByteBuffer.allocateDirect(chunk);
                  long got = 0;
                  long pos;
                  while ((pos = next.getAndAdd(chunk)) < length) {
                    buf.clear().limit((int) Math.min(chunk, length - pos));
                    r.read(buf, pos);
                    got += buf.position();
                  }
                  return got;
                }));
      }
      long total = 0;
      for (Future<Long> f : done) {
        total += f.get();
      }
      if (total != length) {
        throw new IllegalStateException("read " + total + " of " + length);
      }
      return total;
    } finally {
      pool.shutdown();
    }
  }

  static Reader fast(URI uri, int connections) throws Exception {
    HttpRangeReader r =
        HttpRangeReader.open(
            uri, HttpOptions.defaults().withEnvironment(Map.of()).withConnections(connections));
    return new Reader() {
      public void read(ByteBuffer dst, long pos) throws Exception {
        r.readFully(dst, pos);
      }

      public void close() {
        r.close();
      }
    };
  }

  static Reader hc5(URI uri, int connections, int chunk) {
    PoolingHttpClientConnectionManager cm = new PoolingHttpClientConnectionManager();
    cm.setMaxTotal(connections);
    cm.setDefaultMaxPerRoute(connections);
    CloseableHttpClient client =
        HttpClients.custom().setConnectionManager(cm).disableContentCompression().build();
    ThreadLocal<byte[]> scratch = ThreadLocal.withInitial(() -> new byte[64 << 10]);
    return new Reader() {
      public void read(ByteBuffer dst, long pos) throws Exception {
        HttpGet get = new HttpGet(uri);
        get.setHeader("Range", "bytes=" + pos + "-" + (pos + dst.remaining() - 1));
        try (CloseableHttpResponse resp = client.execute(get)) {
          if (resp.getCode() != 206) {
            throw new IllegalStateException("HTTP " + resp.getCode());
          }
          byte[] s = scratch.get();
          try (InputStream in = resp.getEntity().getContent()) {
            int k;
            while (dst.hasRemaining() && (k = in.read(s, 0, Math.min(s.length, dst.remaining()))) > 0) {
              dst.put(s, 0, k);
            }
          }
        }
      }

      public void close() throws Exception {
        client.close();
      }
    };
  }
}
