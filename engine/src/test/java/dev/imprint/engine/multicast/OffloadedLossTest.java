package dev.imprint.engine.multicast;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.testing.Root;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The test network's loss is datagram by datagram even when the sender hands the kernel 44
 * datagrams per send (UDP_SEGMENT): the sender's device cuts the batch before the receiver's loss
 * rule, as a NIC does on the wire. Without that the rule would see one packet per batch and drop 44
 * datagrams at a time, a loss no real network has, and every loss figure measured with the
 * offloading server would be one of bursts. Needs root, ip and nft.
 */
class OffloadedLossTest {
  private static final int DATAGRAM = 1400;
  private static final int SEGMENTS = 44;
  private static final int BATCHES = 400;

  TwoHostLan lan;

  @BeforeEach
  void lan() {
    Root.assumeRoot();
    Root.assumeCommands("ip", "nft");
    lan = new TwoHostLan();
  }

  @AfterEach
  void down() {
    if (lan != null) {
      lan.close();
    }
  }

  @Test
  void lossFallsOnSingleDatagramsNotOnWholeSends() throws Exception {
    lan.loss(10);
    InetSocketAddress group =
        new InetSocketAddress(
            InetAddress.getByName("239.78." + new Random().nextInt(1, 250) + ".9"), 7811);
    try (DatagramChannel rx =
            TwoHostLan.in(
                lan.receiver,
                () -> {
                  DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
                  ch.setOption(StandardSocketOptions.SO_RCVBUF, 32 << 20);
                  ch.bind(new InetSocketAddress(group.getAddress(), group.getPort()));
                  ch.join(group.getAddress(), NetworkInterface.getByName(lan.receiverIf));
                  return ch;
                });
        SenderSocket tx =
            TwoHostLan.in(
                lan.sender,
                () ->
                    SenderSocket.open(
                        group,
                        NetworkInterface.getByName(lan.senderIf),
                        1,
                        false,
                        4 << 20,
                        DATAGRAM,
                        SEGMENTS))) {
      assertTrue(tx.segments() > 1, "the kernel takes segmented sends here");
      int total = SEGMENTS * BATCHES;
      BitSet got = new BitSet(total);
      // Read while sending, so the receive buffer never overflows: the rule alone drops.
      java.util.concurrent.CompletableFuture<Void> reading =
          java.util.concurrent.CompletableFuture.runAsync(
              () -> {
                ByteBuffer in = ByteBuffer.allocate(DATAGRAM + 1);
                try (java.nio.channels.Selector sel = java.nio.channels.Selector.open()) {
                  rx.configureBlocking(false);
                  rx.register(sel, java.nio.channels.SelectionKey.OP_READ);
                  while (sel.select(1000) > 0) {
                    sel.selectedKeys().clear();
                    in.clear();
                    while (rx.receive(in) != null) {
                      got.set(in.getInt(0));
                      in.clear();
                    }
                  }
                } catch (java.io.IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              });
      ByteBuffer batch = ByteBuffer.allocateDirect(DATAGRAM * SEGMENTS);
      int seq = 0;
      for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < SEGMENTS; i++) {
          batch.putInt(i * DATAGRAM, seq++);
        }
        batch.position(0).limit(DATAGRAM * SEGMENTS);
        tx.send(batch);
        Thread.sleep(1); // about 60 MB/s
      }
      reading.get(30, java.util.concurrent.TimeUnit.SECONDS);
      int lost = total - got.cardinality();
      // Losses in runs of 10 or more: with independent 10% loss per datagram, about 1e-9 of
      // them; with whole sends dropped, all of them.
      int inLongRuns = 0;
      for (int i = got.nextClearBit(0); i < total; ) {
        int end = Math.min(total, got.nextSetBit(i) < 0 ? total : got.nextSetBit(i));
        if (end - i >= 10) {
          inLongRuns += end - i;
        }
        i = got.nextClearBit(end);
      }
      String seen = lost + " of " + total + " lost, " + inLongRuns + " of them in runs of 10+";
      assertTrue(lost > total * 0.05 && lost < total * 0.15, "about 10% lost: " + seen);
      assertTrue(inLongRuns < lost * 0.05, "losses fall on single datagrams: " + seen);
    }
  }
}
