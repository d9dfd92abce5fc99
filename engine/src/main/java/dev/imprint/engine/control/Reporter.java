package dev.imprint.engine.control;

import java.io.Closeable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Tells the server about once a second how this client does (docs/PROTOCOL.md, "Control channel");
 * closing it sends the last report, state {@code left}.
 */
public final class Reporter implements Closeable {
  /** What a report says besides the rates, which the reporter works out itself. */
  public interface Reading {
    String state();

    long done();

    long total();

    double loss();

    /** Whether writing or decoding held the reception back since the last report. */
    default boolean writeBound() {
      return false;
    }

    /** Whether everything has arrived: the last report then says {@code done}, not {@code left}. */
    default boolean complete() {
      return false;
    }
  }

  private final ControlClient control;
  private volatile String client;
  private final Reading reading;
  private final ScheduledExecutorService timer;
  private long lastDone;
  private long lastNanos = System.nanoTime();

  public Reporter(ControlClient control, String client, Reading reading) {
    this.control = control;
    this.client = client;
    this.reading = reading;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "imprint-report");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(() -> send(reading.state()), 0, 1, TimeUnit.SECONDS);
  }

  /** Reports as {@code id} from now on (the client shook hands again with a restarted server). */
  public void client(String id) {
    this.client = id;
  }

  /** A reading of a plain state, a counter and a total. */
  public static Reading of(String state, LongSupplier done, long total) {
    return new Reading() {
      @Override
      public String state() {
        return state;
      }

      @Override
      public long done() {
        return done.getAsLong();
      }

      @Override
      public long total() {
        return total;
      }

      @Override
      public double loss() {
        return 0;
      }
    };
  }

  private synchronized java.util.concurrent.CompletableFuture<Integer> send(String state) {
    long d = reading.done();
    long t = System.nanoTime();
    long rate = t > lastNanos ? Math.max(0, d - lastDone) * 1_000_000_000L / (t - lastNanos) : 0;
    lastDone = d;
    lastNanos = t;
    double loss = Math.max(0, Math.min(1, reading.loss()));
    return control.report(
        new ClientReport(client, state, d, reading.total(), loss, rate, reading.writeBound(), ""));
  }

  @Override
  public void close() {
    timer.shutdownNow();
    // The last report is waited for (briefly): the process may exit right after.
    send(reading.complete() ? "done" : "left").completeOnTimeout(-1, 2, TimeUnit.SECONDS).join();
  }
}
