package dev.imprint.engine.job;

import dev.imprint.engine.control.ClientOptions;
import dev.imprint.engine.control.ClientReport;
import dev.imprint.engine.control.ControlClient;
import dev.imprint.engine.control.Handshake;
import dev.imprint.engine.control.MulticastProbe;
import dev.imprint.engine.control.ReportingInput;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.HexFormat;

/**
 * An {@code asr://host[:port]} source: the handshake with the server, then the image's header,
 * index and signatures over the control channel (so {@code --trust} works as for a file), and the
 * chunks over the control channel's ranges when multicast does not arrive and {@code
 * --unicast-fallback} allows it.
 */
final class ServerSource {
  private ServerSource() {}

  static Image open(SourceSpec s) throws IOException {
    ClientOptions o = s.server();
    ControlClient control = new ControlClient(s.spec(), s.http().headers());
    Handshake h = control.handshake(clientName());
    NetworkInterface nif = MulticastProbe.networkInterface(o.networkInterface());
    InetAddress group = InetAddress.getByName(h.group());
    boolean multicast = MulticastProbe.arrives(group, h.dataPort(), nif, o.multicastWait());
    String state = "fallback";
    if (!multicast) {
      String silence = MulticastProbe.silence(h.group(), h.dataPort(), nif, o.multicastWait());
      if (!o.unicastFallback()) {
        leave(control, h, "no multicast");
        throw new Refusal(silence + "; add --unicast-fallback to restore over the control channel");
      }
      s.warnings().accept(silence + "; restoring over the control channel (--unicast-fallback)");
    } else if (!o.unicastFallback()) {
      leave(control, h, "cannot decode the stream");
      throw new Refusal(
          "multicast from "
              + h.group()
              + " arrives, but this imprint cannot decode the stream yet: add --unicast-fallback"
              + " to restore over the control channel");
    }
    HttpOptions http = s.http();
    if (!o.timeout().isZero()) {
      http = http.withExplicitRetryBudget(o.timeout());
    }
    HttpRangeReader r;
    try {
      r = HttpRangeReader.open(control.imageUri(), http);
    } catch (HttpSourceException e) {
      throw new Refusal(e.getMessage());
    }
    ReportingInput in = new ReportingInput(r, control, h.client(), state);
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
        .report(new ClientReport(h.client(), "left", 0, 0, 0, 0, why))
        .completeOnTimeout(-1, 2, java.util.concurrent.TimeUnit.SECONDS)
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
