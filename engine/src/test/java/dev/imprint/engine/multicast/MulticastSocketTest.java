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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

  private MulticastReceiver openReceiver(
      Reception reception, InetSocketAddress group, MulticastReceiver.Listener listener)
      throws Exception {
    return TwoHostLan.in(
        lan.receiver,
        () ->
            MulticastReceiver.open(
                reception, group, NetworkInterface.getByName(lan.receiverIf), RATE, listener));
  }

  private MulticastSender openSender(
      StreamLayout layout,
      Image image,
      SessionKeys keys,
      InetSocketAddress group,
      boolean adaptive,
      MulticastSender.Listener listener,
      int segments)
      throws Exception {
    StreamParams params = StreamParams.DEFAULT;
    return TwoHostLan.in(
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
                    adaptive,
                    false,
                    params),
                listener,
                segments));
  }

  /** With the datagrams of a send cut apart by the kernel (segmentation offload), and without. */
  @ParameterizedTest
  @ValueSource(ints = {SenderSocket.MAX_SEGMENTS, 1})
  void chunksArriveExactThroughFivePercentLossAndARogue(int segments) throws Exception {
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
          openReceiver(
              reception,
              group,
              new MulticastReceiver.Listener() {
                @Override
                public void receiveBuffer(int requested, int granted) {
                  buffer.set(new int[] {requested, granted});
                }

                @Override
                public void failed(Exception e) {
                  failed.set(e);
                }
              });
      MulticastSender tx =
          openSender(
              layout,
              image,
              keys,
              group,
              false,
              new MulticastSender.Listener() {
                @Override
                public void loopStarted(int loop) {
                  loops.set(loop);
                }

                @Override
                public void failed(Exception e) {
                  failed.set(e);
                }
              },
              segments);
      // veth takes the offload: 44 datagrams of 1468 bytes per send.
      assertEquals(
          segments == 1 ? 1 : 65_507 / Datagram.length(params.symbolSize()), tx.segments());
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
      assertTrue(tx.stats().datagrams() > 0 && !rogue.isOpen());
      long left = 0;
      for (long until = System.nanoTime() + 5_000_000_000L; System.nanoTime() < until; ) {
        left =
            Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("imprint-mcast") && t.isAlive())
                .count();
        if (left == 0) {
          break;
        }
        Thread.sleep(20);
      }
      assertEquals(0, left, "closing the sender and receiver leaves no thread behind");
      assertArrayEquals(disk, got.disk);
      got.seen.values().forEach(n -> assertEquals(1, n));
      Reception.Progress p = reception.progress();
      assertEquals(0, p.rejectedChunks(), "no wrong byte reached a chunk");
      assertTrue(p.forged() > 0, "the rogue's datagrams arrived and were refused: " + p);
      // The rule drops 5%; on a loaded host the socket buffer overflowing adds to it (CI once
      // saw 10.8%), so the bound above only says the loss was counted, not invented.
      assertTrue(p.lossRate() > 0.02 && p.lossRate() < 0.30, "about 5% lost: " + p);
      assertTrue(buffer.get() != null && buffer.get()[1] > 0, "the receive buffer was reported");
      assertTrue(loops.get() <= 2, "done within a few loops, not " + loops.get());
    }
  }

  @Test
  void senderHoldsWhilePausedAndFollowsReports() throws Exception {
    byte[] disk = StreamImages.disk(4 << 20, CHUNK, 12);
    try (Image image =
        StreamImages.open(StreamImages.write(dir.resolve("p.imprint"), disk, CHUNK))) {
      StreamParams params = StreamParams.DEFAULT;
      StreamLayout layout = StreamLayout.of(image.metadata().index(), params);
      SessionKeys keys = SessionKeys.generate(image.metadata().digest());
      InetSocketAddress group = group();
      StreamImages.Collector got = new StreamImages.Collector(4 << 20);
      Reception reception =
          new Reception(layout, image.metadata().index(), keys, got, decoders, 64L << 20);
      MulticastReceiver rx = openReceiver(reception, group, new MulticastReceiver.Listener() {});
      MulticastSender tx =
          openSender(
              layout,
              image,
              keys,
              group,
              true,
              new MulticastSender.Listener() {},
              MulticastSender.SEGMENTS);
      try (rx;
          tx) {
        rx.start();
        tx.setPaused(true);
        tx.start();
        Thread.sleep(500); // a negative check: nothing may arrive in this time
        assertEquals(0, rx.datagrams(), "a paused sender sends nothing");
        assertEquals(0, tx.stats().datagrams());
        int parity = tx.stats().parity();
        long before = tx.stats().rate();
        assertEquals(RATE / 4, before, "an adaptive stream starts slow");
        tx.report(java.util.List.of(new ClientReport(0.4, 0), new ClientReport(0.4, 0)));
        assertTrue(tx.stats().parity() > parity, "40% loss raises the parity");
        assertEquals(
            before * 0.6 * 0.95, tx.stats().rate(), 2, "and, above 25%, cuts to what got through");
        tx.setPaused(false);
        assertTrue(reception.await(60, TimeUnit.SECONDS), () -> "" + reception.progress());
      }
      assertArrayEquals(disk, got.disk);
    }
  }
}
