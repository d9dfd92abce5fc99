package dev.imprint.actors.multicast;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.multicast.ClientReport;
import dev.imprint.engine.multicast.MulticastSender;
import dev.imprint.engine.multicast.SessionKeys;
import dev.imprint.engine.multicast.StoredChunks;
import dev.imprint.engine.multicast.StreamLayout;
import dev.imprint.engine.multicast.StreamParams;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.IntConsumer;
import org.slf4j.LoggerFactory;

/** The stream as engine/multicast sends it: Reed-Solomon FEC, MAC'd datagrams, paced. */
public final class FecStream implements SessionStream {
  private final Image image;
  private final MulticastSender sender;
  private volatile IntConsumer onLoop = l -> {};

  private FecStream(ServedImage served, SessionKeys keys, StreamParams params, boolean adaptive)
      throws IOException {
    this.image = SourceOpener.openImage(served.image().toString());
    try {
      StreamLayout layout = StreamLayout.of(image.metadata().index(), params);
      this.sender =
          MulticastSender.open(
              layout,
              StoredChunks.of(image),
              keys,
              new MulticastSender.Config(
                  new InetSocketAddress(served.config().group(), served.config().port()),
                  served.networkInterface(),
                  served.config().ttl(),
                  served.config().dataRate(),
                  served.config().clientDataRate().orElse(0),
                  adaptive,
                  false,
                  params),
              new MulticastSender.Listener() {
                @Override
                public void loopStarted(int loop) {
                  onLoop.accept(loop);
                }

                @Override
                public void failed(Exception e) {
                  LoggerFactory.getLogger(FecStream.class)
                      .error("the stream of {} stopped", served.name(), e);
                }
              });
    } catch (IOException | RuntimeException e) {
      image.close();
      throw e;
    }
  }

  /**
   * @param adaptive whether the rate follows the clients' reports (AIMD) below Data Rate
   */
  public static Factory factory(boolean adaptive) {
    return (served, keys, params) -> new FecStream(served, keys, params, adaptive);
  }

  @Override
  public void start(IntConsumer loops) {
    this.onLoop = loops;
    sender.start();
  }

  @Override
  public void setPaused(boolean paused) {
    sender.setPaused(paused);
  }

  @Override
  public void report(List<ClientReport> reports) {
    sender.report(reports);
  }

  @Override
  public long rate() {
    return sender.stats().rate();
  }

  @Override
  public int parity() {
    return sender.stats().parity();
  }

  @Override
  public void close() {
    try {
      sender.close();
    } catch (IOException e) {
      LoggerFactory.getLogger(FecStream.class).warn("closing the stream: {}", e.getMessage());
    }
    try {
      image.close();
    } catch (IOException e) {
      LoggerFactory.getLogger(FecStream.class).warn("closing the image: {}", e.getMessage());
    }
  }
}
