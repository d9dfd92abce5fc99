package dev.imprint.engine.multicast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.image.Image;
import dev.imprint.engine.testing.Root;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sender and receiver over real sockets between two network namespaces: 5% random loss from
 * nftables on the receiver's input, and a rogue on the sender's side injecting forged and altered
 * datagrams; the chunks must arrive byte-exact. Needs root, ip and nft.
 */
class MulticastSocketTest {
  static final int CHUNK = 1 << 20;
  static final int SIZE = 12 << 20;
  static final long RATE = 20_000_000;

  @TempDir Path dir;
  TwoHostLan lan;
  final ExecutorService decoders = Executors.newFixedThreadPool(2);

  @BeforeEach
  void lan() {
    Root.assumeRoot();
    Root.assumeCommands("ip", "nft");
    lan = new TwoHostLan();
  }

  @AfterEach
  void down() {
    decoders.shutdownNow();
    if (lan != null) {
      lan.close();
    }
  }

  private InetSocketAddress group() throws java.net.UnknownHostException {
    return new InetSocketAddress(
        InetAddress.getByName("239.77." + new Random().nextInt(1, 250) + ".9"), 7800);
  }

  @Test
  void chunksArriveExactThroughFivePercentLossAndARogue() throws Exception {
    lan.loss(5);
    byte[] disk = StreamImages.disk(SIZE, CHUNK, 11);
    try (Image image =
        StreamImages.open(StreamImages.write(dir.resolve("a.imprint"), disk, CHUNK))) {
      StreamParams params = StreamParams.DEFAULT;
      StreamLayout layout = StreamLayout.of(image.metadata().index(), params);
      SessionKeys keys = SessionKeys.generate(image.metadata().digest());
      InetSocketAddress group = group();
      StreamImages.Collector got = new StreamImages.Collector(SIZE);
      Reception reception =
          new Reception(layout, image.metadata().index(), keys, got, decoders, 64L << 20);
      AtomicReference<int[]> buffer = new AtomicReference<>();
      AtomicReference<Exception> failed = new AtomicReference<>();
      AtomicInteger loops = new AtomicInteger();
      MulticastReceiver rx =
          TwoHostLan.in(
              lan.receiver,
              () ->
                  MulticastReceiver.open(
                      reception,
                      group,
                      NetworkInterface.getByName(lan.receiverIf),
                      RATE,
                      new MulticastReceiver.Listener() {
                        @Override
                        public void receiveBuffer(int requested, int granted) {
                          buffer.set(new int[] {requested, granted});
                        }

                        @Override
                        public void failed(Exception e) {
                          failed.set(e);
                        }
                      }));
      MulticastSender tx =
          TwoHostLan.in(
              lan.sender,
              () ->
                  MulticastSender.open(
                      layout,
                      StoredChunks.of(image),
                      keys,
                      new MulticastSender.Config(
                          group,
                          NetworkInterface.getByName(lan.senderIf),
                          1,
                          RATE,
                          0,
                          false,
                          false,
                          params),
                      new MulticastSender.Listener() {
                        @Override
                        public void loopStarted(int loop) {
                          loops.set(loop);
                        }

                        @Override
                        public void failed(Exception e) {
                          failed.set(e);
                        }
                      }));
      DatagramChannel rogue =
          TwoHostLan.in(
              lan.sender,
              () -> {
                DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
                ch.setOption(
                    StandardSocketOptions.IP_MULTICAST_IF,
                    NetworkInterface.getByName(lan.senderIf));
                return ch;
              });
      try (rx;
          tx;
          rogue) {
        rx.start();
        tx.start();
        // The rogue: genuine datagrams (made with the real keys, as if captured) with one byte
        // of payload or header altered, and junk under this session's clear header fields.
        Random rnd = new Random(4);
        Carousel c = new Carousel(layout, params.interleave());
        Emitter em = new Emitter(c, keys);
        EncodedGroup g = new EncodedGroup();
        g.prepare(
            c,
            new SourceSymbols(layout, StoredChunks.of(image)),
            java.util.concurrent.ForkJoinPool.commonPool(),
            0,
            0,
            12,
            0);
        ByteBuffer out = ByteBuffer.allocate(2048);
        em.emit(
            g,
            d -> {
              out.clear();
              out.put(d.duplicate()).flip();
              int at = rnd.nextInt(out.limit() - Datagram.MAC_LENGTH);
              out.put(at, (byte) (out.get(at) ^ (1 + rnd.nextInt(255))));
              rogue.send(out, group);
              out.clear();
              rnd.nextBytes(out.array());
              Datagram.header(
                  out,
                  keys,
                  rnd.nextInt(),
                  0,
                  rnd.nextInt(layout.blocks()),
                  100,
                  rnd.nextInt(256),
                  1400);
              out.position(0).limit(Datagram.length(1400));
              rogue.send(out, group);
            });
        boolean done = reception.await(120, TimeUnit.SECONDS);
        assertNull(failed.get(), () -> "failed: " + failed.get());
        assertTrue(done, () -> "not done: " + reception.progress());
      }
      assertArrayEquals(disk, got.disk);
      got.seen.values().forEach(n -> assertEquals(1, n));
      Reception.Progress p = reception.progress();
      assertEquals(0, p.rejectedChunks(), "no wrong byte reached a chunk");
      assertTrue(p.forged() > 0, "the rogue's datagrams arrived and were refused: " + p);
      assertTrue(p.lossRate() > 0.02 && p.lossRate() < 0.10, "about 5% lost: " + p);
      assertTrue(buffer.get() != null && buffer.get()[1] > 0, "the receive buffer was reported");
      assertTrue(loops.get() <= 2, "done within a few loops, not " + loops.get());
    }
  }
}
