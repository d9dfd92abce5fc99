package dev.imprint.engine.job;

import dev.imprint.engine.control.ClientOptions;
import dev.imprint.engine.control.ClientReport;
import dev.imprint.engine.control.ControlClient;
import dev.imprint.engine.control.CountingInput;
import dev.imprint.engine.control.Handshake;
import dev.imprint.engine.control.MulticastProbe;
import dev.imprint.engine.control.Reporter;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.multicast.Reception;
import dev.imprint.engine.multicast.SessionKeys;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.MulticastChunks;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * An {@code asr://host[:port]} source: the handshake with the server, the image's header, index and
 * signatures over the control channel (so {@code --trust} works as for a file), then the chunks
 * from the multicast stream, or, when no multicast arrives and {@code --unicast-fallback} allows
 * it, over the control channel's ranges. Either way the client reports to the server.
 */
final class ServerSource {
  private ServerSource() {}

  /** The chunks to restore. */
  static ChunkSupply chunks(SourceSpec s) throws IOException {
    ClientOptions o = s.server();
    ControlClient control = new ControlClient(s.spec(), s.http().headers());
    Handshake h = control.handshake(clientName());
    NetworkInterface nif = MulticastProbe.networkInterface(o.networkInterface());
    InetAddress group = InetAddress.getByName(h.group());
    // The image's header, index and signatures first (over the control channel), then the group:
    // the server holds its stream until a client listens, and a client that listened before this
    // fetch missed the seconds it took (a whole loop's wait, or repair, for each of them).
    CountingInput in = new CountingInput(rangeReader(s, control, h));
    Image image = image(s, in, h);
    try {
      SourceOpener.checkTrust(s, image);
    } catch (IOException | RuntimeException e) {
      image.close();
      leave(control, h, "not trusted");
      throw e;
    }
    SessionKeys keys =
        new SessionKeys(
            Long.parseUnsignedLong(h.session(), 16),
            image.metadata().digest(),
            HexFormat.of().parseHex(h.secret()));
    // Joins the group once, with the socket that receives the stream: the server starts sending
    // when told "listening", and every datagram from then on is this socket's (a probe socket
    // closed before the receiver joined cost the stream's first fraction of a second: tens of MB
    // of repair at 50 MB/s).
    MulticastChunks mc;
    try {
      mc =
          new MulticastChunks(
              image,
              keys,
              h.symbolSize(),
              h.blockSymbols(),
              new InetSocketAddress(group, h.dataPort()),
              nif,
              h.dataRate(),
              o.repairBudget(),
              o.timeout(),
              s.warnings());
    } catch (IOException | RuntimeException e) {
      image.close();
      leave(control, h, "cannot join the group");
      throw new Refusal(
          "cannot join " + h.group() + " port " + h.dataPort() + ": " + e.getMessage());
    }
    boolean multicast;
    try {
      control.report(ClientReport.of(h.client(), "listening", h.imageSize(), ""));
      multicast = mc.awaitDatagram(o.multicastWait());
    } catch (IOException | RuntimeException e) {
      mc.close();
      leave(control, h, "cannot receive");
      throw e;
    }
    if (!multicast) {
      mc.stopReceiving();
      String silence = MulticastProbe.silence(h.group(), h.dataPort(), nif, o.multicastWait());
      if (!o.unicastFallback()) {
        image.close();
        leave(control, h, "no multicast");
        throw new Refusal(silence + "; add --unicast-fallback to restore over the control channel");
      }
      s.warnings().accept(silence + "; restoring over the control channel (--unicast-fallback)");
      Reporter reporter =
          new Reporter(control, h.client(), Reporter.of("fallback", in::bytesRead, in.size()));
      in.alsoClosing(reporter);
      return SourceOpener.imageChunks(s, image);
    }
    if (s.sourceVolume() != null) {
      mc.close();
      leave(control, h, "--source-volume");
      throw new Refusal(
          "--source-volume is not available from a multicast stream: restore the whole image, or"
              + " read the volume over HTTP from the server's control channel");
    }
    Reporter reporter = new Reporter(control, h.client(), new Receiving(mc));
    mc.alsoClosing(reporter);
    mc.rejoinWith(() -> rejoin(control, h, reporter));
    return mc;
  }

  /**
   * Shakes hands again with a server whose stream fell silent: when it restarted and now streams
   * the same image the same way in a new session, the new session's keys (and the reports go to the
   * new client id); otherwise null, and the stream's timeout decides.
   */
  private static SessionKeys rejoin(ControlClient control, Handshake old, Reporter reporter)
      throws IOException {
    Handshake h = control.handshake(clientName());
    if (h.session().equals(old.session())) {
      leave(control, h, "duplicate");
      return null;
    }
    if (!h.digest().equals(old.digest())
        || !h.group().equals(old.group())
        || h.dataPort() != old.dataPort()
        || h.symbolSize() != old.symbolSize()
        || h.blockSymbols() != old.blockSymbols()) {
      leave(control, h, "another stream");
      return null;
    }
    reporter.client(h.client());
    return new SessionKeys(
        Long.parseUnsignedLong(h.session(), 16),
        HexFormat.of().parseHex(h.digest()),
        HexFormat.of().parseHex(h.secret()));
  }

  /** What a receiving client reports: stored bytes received of the image, and its loss. */
  private static final class Receiving implements Reporter.Reading {
    private final MulticastChunks mc;
    private long authentic;
    private long expected;

    Receiving(MulticastChunks mc) {
      this.mc = mc;
    }

    @Override
    public String state() {
      return "receiving";
    }

    @Override
    public long done() {
      Reception.Progress p = mc.progress();
      return p.storedBytesDone();
    }

    @Override
    public long total() {
      return mc.progress().storedBytes();
    }

    /**
     * The loss since the last report, not since the start: the server's rate and parity follow the
     * network now (a lossy first minute would otherwise keep the rate down for the whole run).
     */
    @Override
    public synchronized double loss() {
      Reception.Progress p = mc.progress();
      long a = p.authentic() - authentic;
      long e = p.expected() - expected;
      authentic = p.authentic();
      expected = p.expected();
      return e <= 0 ? 0 : Math.max(0, Math.min(1, 1 - (double) a / e));
    }

    @Override
    public boolean writeBound() {
      return mc.heldBack();
    }

    @Override
    public boolean complete() {
      Reception.Progress p = mc.progress();
      return p.chunksDone() == p.chunks();
    }
  }

  /** The image alone, over the control channel (e.g. for verify). */
  static Image open(SourceSpec s) throws IOException {
    ControlClient control = new ControlClient(s.spec(), s.http().headers());
    Handshake h = control.handshake(clientName());
    Image image = image(s, rangeReader(s, control, h), h);
    leave(control, h, "read the image's metadata");
    return image;
  }

  private static HttpRangeReader rangeReader(SourceSpec s, ControlClient control, Handshake h)
      throws IOException {
    HttpOptions http = s.http();
    if (!s.server().timeout().isZero()) {
      http = http.withExplicitRetryBudget(s.server().timeout());
    }
    try {
      return HttpRangeReader.open(control.imageUri(), http);
    } catch (HttpSourceException e) {
      leave(control, h, "cannot read the image");
      throw new Refusal(e.getMessage());
    }
  }

  /** The image over the control channel, refused unless it is the one the handshake named. */
  private static Image image(
      SourceSpec s, dev.imprint.engine.source.RandomAccessInput in, Handshake h)
      throws IOException {
    Image image;
    try {
      image = Image.open(in);
    } catch (ImageFormatException e) {
      in.close();
      throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
    String digest = HexFormat.of().formatHex(image.metadata().digest());
    if (!digest.equals(h.digest())) {
      image.close();
      throw new Refusal(
          s.spec()
              + " changed its image while this client connected (digest "
              + h.digest()
              + " in the handshake, "
              + digest
              + " served): try again");
    }
    return image;
  }

  /** Tells the server this client leaves (briefly waited for: the process exits next). */
  private static void leave(ControlClient control, Handshake h, String why) {
    control
        .report(ClientReport.of(h.client(), "left", 0, why))
        .completeOnTimeout(-1, 2, TimeUnit.SECONDS)
        .join();
  }

  /** How the server shows this client: the host name the system gives. */
  private static String clientName() {
    String n = System.getenv("HOSTNAME");
    if (n == null || n.isBlank()) {
      try {
        n = java.nio.file.Files.readString(java.nio.file.Path.of("/etc/hostname")).trim();
      } catch (IOException e) {
        n = "client";
      }
    }
    return n;
  }
}
