package dev.imprint.cli;

import dev.imprint.actors.multicast.FecStream;
import dev.imprint.actors.multicast.MulticastServer;
import dev.imprint.actors.multicast.ServedImage;
import dev.imprint.actors.multicast.ServerEvent;
import dev.imprint.engine.control.Access;
import dev.imprint.engine.discovery.Discovery;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.job.Refusal;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.serverconfig.ConfigKey;
import dev.imprint.engine.serverconfig.ExampleConfig;
import dev.imprint.engine.serverconfig.ServerConfigReader;
import dev.imprint.engine.serverconfig.SessionConfig;
import java.io.IOException;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Stream an image in a loop to a multicast group, for any number of clients",
      "('imprint restore --source asr://HOST --target T --erase'). The configuration is an",
      "asr property list (XML or binary) or a HOCON file with the same keys; a HOCON file may",
      "list several sessions (images on their own groups and ports). Each key can be given as",
      "a flag, which wins over the file. asr's spelling works: imprint -server CONFIG -source IMG.",
      "Anyone who can reach the port may take the image unless --allow or --token say otherwise."
    },
    footer = {
      "",
      "Examples:",
      "  imprint server --write-config asr.plist",
      "  imprint server --source golden.imprint --config asr.plist",
      "  imprint -server asr.plist -source golden.imprint",
      "  imprint server --config lab.conf --allow 10.1.0.0/16 --token s3cret --json"
    })
final class ServerCommand implements Callable<Integer> {
  @Option(
      names = {"--source", "-source"},
      paramLabel = "IMAGE",
      description = "The Imprint image to stream (a HOCON file may name one per session instead).")
  Path source;

  @Option(
      names = {"--config", "-config"},
      paramLabel = "CONFIG",
      description = "asr property list (XML or binary) or HOCON file with the session's keys.")
  Path config;

  @Option(
      names = {"--interface", "-interface"},
      paramLabel = "IF",
      description = "Network interface to send the stream on (default: the system's choice).")
  String networkInterface;

  @Option(
      names = "--write-config",
      paramLabel = "FILE",
      description = "Write a commented example configuration (HOCON if FILE ends in .conf).")
  Path writeConfig;

  @Option(names = "--data-rate", paramLabel = "BYTES_PER_SECOND", description = "Data Rate.")
  String dataRate;

  @Option(names = "--multicast-address", paramLabel = "GROUP", description = "Multicast Address.")
  String multicastAddress;

  @Option(
      names = "--client-data-rate",
      paramLabel = "BYTES_PER_SECOND",
      description = "Client Data Rate.")
  String clientDataRate;

  @Option(
      names = "--dns-service-discovery",
      paramLabel = "true|false",
      description = "DNS Service Discovery.")
  String dnsServiceDiscovery;

  @Option(names = "--loop-suspend", paramLabel = "LOOPS", description = "Loop Suspend.")
  String loopSuspend;

  @Option(names = "--multicast-ttl", paramLabel = "HOPS", description = "Multicast TTL.")
  String multicastTtl;

  @Option(names = "--port", paramLabel = "PORT", description = "Port (TCP control, UDP data).")
  String port;

  @Option(
      names = "--allow",
      paramLabel = "CIDR",
      description = "Only clients from this network may use the control channel (repeatable).")
  List<String> allow;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "Clients must give this token (restore --token TOKEN).")
  String token;

  @Option(
      names = {"--json", "-json"},
      description = "Print one JSON object per event instead of live lines.")
  boolean json;

  @Option(
      names = "--fixed-rate",
      description =
          "Send at Data Rate (or Client Data Rate) always, instead of lowering and raising the"
              + " rate with the loss and write rates most clients report.")
  boolean fixedRate;

  private final BlockingQueue<ServerEvent> events = new LinkedBlockingQueue<>();

  private final List<java.io.Closeable> advertisements = new ArrayList<>();

  /** A ready session with DNS Service Discovery on is advertised; a failure is a warning. */
  private void advertise(List<ServedImage> images, String session) {
    for (ServedImage i : images) {
      if (!i.name().equals(session) || !i.config().dnsServiceDiscovery()) {
        continue;
      }
      try {
        advertisements.add(
            Discovery.advertise(
                Discovery.addressOf(i.networkInterface()),
                i.name(),
                i.config().port(),
                i.image().getFileName().toString(),
                HexFormat.of().parseHex(i.digest())));
      } catch (IOException | RuntimeException e) {
        Terminal.err()
            .println("imprint: warning: " + i.name() + " is not advertised over DNS-SD: " + e);
      }
    }
  }

  @Override
  public Integer call() throws Exception {
    if (writeConfig != null) {
      return writeExample();
    }
    List<ServedImage> images = served();
    try (Pekko pekko = Pekko.startInBackground()) {
      return run(pekko.get(), images);
    }
  }

  private int writeExample() throws IOException {
    if (Files.exists(writeConfig)) {
      throw new UserError(writeConfig + " exists: remove it or choose another name");
    }
    Files.writeString(writeConfig, ExampleConfig.forFile(writeConfig.getFileName().toString()));
    Terminal.out().println("Wrote an example configuration to " + writeConfig);
    return ExitCode.OK;
  }

  private Map<ConfigKey, String> flags() {
    Map<ConfigKey, String> f = new EnumMap<>(ConfigKey.class);
    put(f, ConfigKey.DATA_RATE, dataRate);
    put(f, ConfigKey.MULTICAST_ADDRESS, multicastAddress);
    put(f, ConfigKey.CLIENT_DATA_RATE, clientDataRate);
    put(f, ConfigKey.DNS_SERVICE_DISCOVERY, dnsServiceDiscovery);
    put(f, ConfigKey.LOOP_SUSPEND, loopSuspend);
    put(f, ConfigKey.MULTICAST_TTL, multicastTtl);
    put(f, ConfigKey.PORT, port);
    return f;
  }

  private static void put(Map<ConfigKey, String> f, ConfigKey k, String v) {
    if (v != null) {
      f.put(k, v);
    }
  }

  /** Every session checked, its image opened once: all refusals before anything listens. */
  private List<ServedImage> served() throws IOException {
    if (config == null && dataRate == null) {
      throw new UserError(
          "give --config CONFIG (asr's property list or HOCON; imprint server --write-config FILE"
              + " writes an example) or at least --data-rate and --multicast-address");
    }
    Map<ConfigKey, String> flags = new HashMap<>(flags());
    List<SessionConfig> sessions = ServerConfigReader.read(config, flags);
    if (sessions.size() > 1 && source != null) {
      throw new UserError(
          config
              + " lists "
              + sessions.size()
              + " sessions, each with its own source: drop"
              + " --source");
    }
    Access access = access();
    NetworkInterface nif = networkInterface();
    List<ServedImage> out = new ArrayList<>();
    Map<Integer, String> ports = new HashMap<>();
    for (SessionConfig s : sessions) {
      Path image = source != null ? source : s.source();
      if (image == null) {
        throw new UserError(
            "no image to stream: give --source IMAGE (or source = IMAGE in a" + " HOCON session)");
      }
      SessionConfig c = s.withSource(image, image.getFileName().toString());
      String other = ports.putIfAbsent(c.port(), c.name());
      if (other != null) {
        throw new UserError(
            "sessions "
                + other
                + " and "
                + c.name()
                + " both use Port "
                + c.port()
                + ": give each its own");
      }
      try (Image img = SourceOpener.openImage(image.toString())) {
        out.add(
            new ServedImage(
                c,
                image,
                img.fileSize(),
                HexFormat.of().formatHex(img.metadata().digest()),
                access,
                nif));
      }
    }
    return out;
  }

  private Access access() throws Refusal {
    List<Access.Cidr> nets = new ArrayList<>();
    if (allow != null) {
      for (String a : allow) {
        nets.add(Access.Cidr.parse(a));
      }
    }
    if (token != null && token.isBlank()) {
      throw new UserError("--token is empty: give a token, or drop --token");
    }
    return new Access(nets, token);
  }

  private NetworkInterface networkInterface() {
    if (networkInterface == null) {
      return null;
    }
    try {
      NetworkInterface n = NetworkInterface.getByName(networkInterface);
      if (n == null) {
        throw new UserError(
            "--interface "
                + networkInterface
                + " does not exist: see ip link for this machine's"
                + " interfaces");
      }
      return n;
    } catch (SocketException e) {
      throw new UserError("cannot look up --interface " + networkInterface + ": " + e.getMessage());
    }
  }

  /** Serves until SIGINT or SIGTERM (or a session fails to start), showing what happens. */
  private int run(ActorSystem<Void> system, List<ServedImage> images) throws InterruptedException {
    ServerDisplay display =
        new ServerDisplay(Terminal.out(), json, System.console() != null, images.size() > 1);
    java.util.concurrent.CompletableFuture<ActorRef<MulticastServer.Command>> server =
        new java.util.concurrent.CompletableFuture<>();
    system.systemActorOf(
        Behaviors.<ServerEvent>setup(
            ctx -> {
              server.complete(
                  ctx.spawn(
                      MulticastServer.create(images, FecStream.factory(!fixedRate), ctx.getSelf()),
                      "server"));
              return Behaviors.receiveMessage(
                  e -> {
                    events.add(e);
                    return e instanceof ServerEvent.Stopped
                        ? Behaviors.stopped()
                        : Behaviors.same();
                  });
            }),
        "multicast-" + System.nanoTime(),
        Props.empty());
    Main.onInterrupt(() -> server.thenAccept(s -> s.tell(new MulticastServer.Stop())));
    String failed = null;
    try {
      while (true) {
        ServerEvent e = events.poll(1, TimeUnit.HOURS);
        if (e == null) {
          continue;
        }
        display.show(e);
        if (e instanceof ServerEvent.Ready r) {
          advertise(images, r.session());
        }
        if (e instanceof ServerEvent.Failed f && failed == null) {
          failed = f.message();
        }
        if (e instanceof ServerEvent.Stopped) {
          break;
        }
      }
    } finally {
      Main.onInterrupt(null);
      for (java.io.Closeable a : advertisements) {
        try {
          a.close();
        } catch (IOException ex) {
          org.slf4j.LoggerFactory.getLogger(ServerCommand.class).warn("DNS-SD: {}", ex.toString());
        }
      }
    }
    if (failed != null) {
      Terminal.err().println("imprint: " + failed);
      return ExitCode.BAD_INPUT;
    }
    return ExitCode.OK;
  }
}
