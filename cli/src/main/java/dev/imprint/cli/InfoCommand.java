package dev.imprint.cli;

import dev.imprint.cli.output.Json;
import dev.imprint.cli.output.Sizes;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerExtent;
import dev.imprint.engine.container.Containers;
import dev.imprint.engine.device.FileKind;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageMetadata;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.image.Signature;
import dev.imprint.engine.job.SourceOpener;
import dev.imprint.engine.partition.Partition;
import dev.imprint.engine.signing.Keys;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "info",
    mixinStandardHelpOptions = true,
    description = {
      "Show an image's geometry, contents, compression, digest and signatures.",
      "Given a raw disk or image file instead, show its partition table, its filesystems and",
      "what create would copy (a damaged table or filesystem is reported here)."
    },
    footer = {
      "",
      "Examples:",
      "  imprint info --source golden.imprint",
      "  imprint info --source golden.imprint --json"
    })
final class InfoCommand implements Callable<Integer> {
  @Option(
      names = {"--source", "-source"},
      required = true,
      paramLabel = "IMAGE",
      description = "The image.")
  String source;

  @Option(
      names = {"--json", "-json"},
      description = "Print one JSON object.")
  boolean json;

  @Option(
      names = {"--plist", "-plist"},
      description = "Print an XML property list, like asr.")
  boolean plist;

  @picocli.CommandLine.Mixin RemoteOptions remote;

  @Override
  public Integer call() throws Exception {
    Optional<ContainerDisk> container = ImageOpener.container(source, remote);
    if (container.isPresent()) {
      try (ContainerDisk c = container.get()) {
        return describeDisk(c, c);
      }
    }
    if (!dev.imprint.engine.http.HttpUrls.isHttpUrl(source)
        && FileKind.probe(java.nio.file.Path.of(source)) != FileKind.MISSING
        && FileKind.probe(java.nio.file.Path.of(source)) != FileKind.DIRECTORY
        && dev.imprint.engine.source.Sources.detect(source)
            != dev.imprint.engine.source.Magic.Format.IMPRINT
        && !looksLikeAnImage(java.nio.file.Path.of(source))) {
      try (var disk = dev.imprint.engine.source.Sources.open(source)) {
        if (disk instanceof dev.imprint.engine.source.SequentialDisk s) {
          return describeStream(s);
        }
        return describeDisk((dev.imprint.engine.source.RandomAccessDisk) disk, null);
      }
    }
    try (Image image = ImageOpener.open(source, ExitCode.DAMAGED, remote)) {
      Map<String, Object> info = describe(image);
      if (!printedStructured(info)) {
        printText(Terminal.out(), image.metadata(), info);
      }
    }
    return ExitCode.OK;
  }

  /**
   * A damaged image is still an image: named .imprint, or with an Imprint trailer at its end. Such
   * a file gets the image reader's diagnosis, not a description as a raw disk.
   */
  private static boolean looksLikeAnImage(java.nio.file.Path p) throws java.io.IOException {
    if (p.getFileName().toString().endsWith(".imprint")) {
      return true;
    }
    if (FileKind.probe(p) != FileKind.REGULAR_FILE) {
      return false;
    }
    try (var ch = java.nio.channels.FileChannel.open(p)) {
      return dev.imprint.engine.image.Trailer.endsWithTrailer(ch);
    }
  }

  /** Prints {@code m} as JSON or a property list when asked; false for the text form. */
  private boolean printedStructured(Map<String, Object> m) {
    if (json) {
      Terminal.out().println(Json.object(flatten(m)));
    } else if (plist) {
      Terminal.out().print(Plist.of(m));
    }
    return json || plist;
  }

  /**
   * A compressed raw image (gzip, xz, a deflated zip entry…): it is read front to back, so its
   * partition table and filesystems are known only once {@code create} or a restore reads it.
   */
  private int describeStream(dev.imprint.engine.source.SequentialDisk s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("disk", s.description());
    String how =
        s instanceof dev.imprint.engine.source.DecodedDisk d && d.format().isCompressed()
            ? d.format().label() + "-compressed raw image"
            : "raw image read front to back";
    m.put("kind", how);
    m.put("logicalSize", s.size().orElse(-1));
    if (!printedStructured(m)) {
      PrintStream out = Terminal.out();
      out.printf(
          "Disk:         %s, a %s, %s%n",
          s.description(),
          how,
          s.size().isPresent()
              ? Sizes.human(s.size().getAsLong()) + " (" + s.size().getAsLong() + " bytes)"
              : "size known once decoded");
      out.println("  read front to back: create or restore reads its tables and filesystems");
    }
    return ExitCode.OK;
  }

  /**
   * A raw disk, image file or foreign container: what create would record, read from its partition
   * table and filesystems (a damaged table or filesystem is reported, not fatal), and for a
   * container, the container itself and what its extents hold.
   */
  private int describeDisk(dev.imprint.engine.source.RandomAccessDisk r, ContainerDisk c)
      throws java.io.IOException {
    var layout = dev.imprint.engine.layout.DiskLayout.analyze(r, false);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("disk", source);
    long[] kinds = null;
    if (c != null) {
      kinds = Containers.bytesByKind(c);
      m.put("container", c.format().name());
      m.put("containerDetails", new LinkedHashMap<String, Object>(c.describe()));
      m.put("dataBytes", kinds[ContainerExtent.Kind.DATA.ordinal()]);
      m.put("zeroBytes", kinds[ContainerExtent.Kind.ZERO.ordinal()]);
      m.put("unallocatedBytes", kinds[ContainerExtent.Kind.UNALLOCATED.ordinal()]);
      m.put("extents", c.extents().size());
    }
    m.put("logicalSize", r.size());
    m.put("sectorSize", r.sectorSize());
    m.put("partitionScheme", layout.scheme().name().toLowerCase(Locale.ROOT));
    m.put("partitions", partitions(layout.partitions()));
    List<dev.imprint.engine.source.Extent> used = SourceOpener.used(r, layout);
    long usedBytes = r.size();
    if (used != null) {
      usedBytes = 0;
      for (var e : used) {
        usedBytes += e.length();
      }
    }
    m.put("usedBytes", usedBytes);
    m.put("notes", layout.notes());
    PrintStream out = Terminal.out();
    if (json) {
      out.println(Json.object(flatten(m)));
    } else if (plist) {
      out.print(Plist.of(m));
    } else {
      if (c != null) {
        out.printf("Container:    %s%n", c.format().name());
        c.describe().forEach((k, v) -> out.printf("  %-15s %s%n", k + ":", v));
      }
      out.printf(
          "Disk:         %s, %s (%d bytes), %d-byte sectors%n",
          source, Sizes.human(r.size()), r.size(), r.sectorSize());
      if (kinds != null) {
        out.printf(
            "Contents:     %s data, %s zero, %s unallocated (%d extents)%n",
            Sizes.human(kinds[ContainerExtent.Kind.DATA.ordinal()]),
            Sizes.human(kinds[ContainerExtent.Kind.ZERO.ordinal()]),
            Sizes.human(kinds[ContainerExtent.Kind.UNALLOCATED.ordinal()]),
            c.extents().size());
      }
      out.printf("Partitions:   %s%n", m.get("partitionScheme"));
      for (String n : layout.notes()) {
        out.println("  " + n);
      }
      out.printf("Used:         %s would be imaged%n", Sizes.human(usedBytes));
    }
    return ExitCode.OK;
  }

  private static List<Map<String, Object>> partitions(List<Partition> list) {
    List<Map<String, Object>> parts = new ArrayList<>();
    for (Partition p : list) {
      Map<String, Object> pm = new LinkedHashMap<>();
      pm.put("number", p.number());
      pm.put("offset", p.offset());
      pm.put("length", p.length());
      pm.put("type", p.type());
      pm.put("label", p.label());
      pm.put("filesystem", p.filesystem());
      pm.put("note", p.note());
      parts.add(pm);
    }
    return parts;
  }

  private static Object[] flatten(Map<String, Object> m) {
    List<Object> kv = new ArrayList<>();
    m.forEach(
        (k, v) -> {
          kv.add(k);
          kv.add(v);
        });
    return kv.toArray();
  }

  static Map<String, Object> describe(Image image) {
    ImageMetadata md = image.metadata();
    var h = md.header();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("image", image.description());
    m.put("formatVersion", h.major() + "." + h.minor());
    m.put("kind", h.kind().name().toLowerCase(Locale.ROOT));
    m.put("logicalSize", h.logicalSize());
    m.put("sectorSize", h.sectorSize());
    m.put("chunkSize", h.chunkSize());
    m.put("codec", h.codec().name().toLowerCase(Locale.ROOT));
    m.put("created", h.created().toString());
    m.put("creator", h.creator());
    m.put("sourceDescription", h.source());
    m.put("partitionScheme", h.scheme().name().toLowerCase(Locale.ROOT));
    m.put("partitions", partitions(h.partitions()));
    m.put("dataBytes", md.bytesOf(RangeKind.DATA));
    m.put("zeroBytes", md.bytesOf(RangeKind.ZERO));
    m.put("unallocatedBytes", md.bytesOf(RangeKind.UNALLOCATED));
    long file = image.fileSize();
    m.put("imageBytes", file);
    m.put(
        "compressionRatio",
        Math.round(100.0 * md.bytesOf(RangeKind.DATA) / Math.max(1, md.storedBytes())) / 100.0);
    m.put("digest", "sha256:" + HexFormat.of().formatHex(md.digest()));
    List<Map<String, Object>> sigs = new ArrayList<>();
    for (Signature s : md.signatures()) {
      Map<String, Object> sm = new LinkedHashMap<>();
      sm.put("fingerprint", Keys.fingerprint(s.publicKey()));
      sm.put("valid", Keys.verify(s, md.digest()));
      sigs.add(sm);
    }
    m.put("signatures", sigs);
    return m;
  }

  private static void printText(PrintStream out, ImageMetadata md, Map<String, Object> m) {
    var h = md.header();
    out.printf("Image:        %s%n", m.get("image"));
    out.printf("Format:       Imprint %s, %s image%n", m.get("formatVersion"), m.get("kind"));
    out.printf(
        "Disk:         %s (%d bytes), %d-byte sectors%n",
        Sizes.human(h.logicalSize()), h.logicalSize(), h.sectorSize());
    out.printf("Chunks:       %s each, %s%n", Sizes.human(h.chunkSize()), m.get("codec"));
    out.printf(
        "Contents:     %s data, %s zero, %s unallocated%n",
        Sizes.human(md.bytesOf(RangeKind.DATA)),
        Sizes.human(md.bytesOf(RangeKind.ZERO)),
        Sizes.human(md.bytesOf(RangeKind.UNALLOCATED)));
    out.printf(
        "Stored:       %s in the image file (data compressed %.2fx)%n",
        Sizes.human((Long) m.get("imageBytes")), (Double) m.get("compressionRatio"));
    out.printf("Partitions:   %s%n", h.scheme() == null ? "none" : m.get("partitionScheme"));
    for (Partition p : h.partitions()) {
      out.printf(
          "  %2d  at %-12d %-9s %-6s %-12s %s%n",
          p.number(),
          p.offset(),
          Sizes.human(p.length()),
          p.filesystem().isEmpty() ? "-" : p.filesystem(),
          p.label().isEmpty() ? "" : "\"" + p.label() + "\"",
          p.note());
    }
    out.printf("Created:      %s by %s%n", h.created(), h.creator());
    out.printf("Source:       %s%n", h.source());
    out.printf("Digest:       %s%n", m.get("digest"));
    if (md.signatures().isEmpty()) {
      out.println("Signatures:   none");
    }
    for (Signature s : md.signatures()) {
      out.printf(
          "Signature:    %s (%s)%n",
          Keys.fingerprint(s.publicKey()), Keys.verify(s, md.digest()) ? "valid" : "INVALID");
    }
  }
}
