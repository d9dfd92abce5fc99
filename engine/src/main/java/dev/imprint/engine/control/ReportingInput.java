package dev.imprint.engine.control;

import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The image read over the control channel (unicast fallback), reporting to the server about once a
 * second how much of it has arrived; closing it sends the last report.
 */
public final class ReportingInput implements RandomAccessInput {
  private final RandomAccessInput in;
  private final ControlClient control;
  private final String client;
  private final String state;
  private final AtomicLong read = new AtomicLong();
  private final ScheduledExecutorService timer;
  private long lastRead;
  private long lastNanos = System.nanoTime();

  public ReportingInput(RandomAccessInput in, ControlClient control, String client, String state) {
    this.in = in;
    this.control = control;
    this.client = client;
    this.state = state;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "imprint-report");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(() -> report(state), 0, 1, TimeUnit.SECONDS);
  }

  private synchronized java.util.concurrent.CompletableFuture<Integer> report(String now) {
    long r = read.get();
    long t = System.nanoTime();
    long rate = t > lastNanos ? (r - lastRead) * 1_000_000_000L / (t - lastNanos) : 0;
    lastRead = r;
    lastNanos = t;
    return control.report(new ClientReport(client, now, r, in.size(), 0, rate, ""));
  }

  @Override
  public long size() {
    return in.size();
  }

  @Override
  public String description() {
    return in.description();
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    int n = in.read(dst, position);
    if (n > 0) {
      read.addAndGet(n);
    }
    return n;
  }

  @Override
  public void close() throws IOException {
    timer.shutdownNow();
    try {
      // The last report is waited for (briefly): the process may exit right after.
      report("left").completeOnTimeout(-1, 2, TimeUnit.SECONDS).join();
    } finally {
      in.close();
    }
  }
}
