package dev.imprint.engine.job;

import dev.imprint.engine.bmap.Bmap;
import dev.imprint.engine.bmap.BmapCheck;
import dev.imprint.engine.bmap.BmapException;
import dev.imprint.engine.bmap.BmapFinder;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.container.Containers;
import dev.imprint.engine.container.zip.ZipImage;
import dev.imprint.engine.device.DeviceInfo;
import dev.imprint.engine.device.FileKind;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.http.HttpStream;
import dev.imprint.engine.http.HttpUrls;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.image.MetadataCheck;
import dev.imprint.engine.image.Signature;
import dev.imprint.engine.layout.DiskLayout;
import dev.imprint.engine.partition.Partition;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.CreateOptions;
import dev.imprint.engine.pipeline.DiskChunks;
import dev.imprint.engine.pipeline.ImageChunks;
import dev.imprint.engine.pipeline.StreamedImageChunks;
import dev.imprint.engine.signing.Trust;
import dev.imprint.engine.source.DecodedDisk;
import dev.imprint.engine.source.DiskSource;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.source.Magic;
import dev.imprint.engine.source.RandomAccessDisk;
import dev.imprint.engine.source.SequentialDisk;
import dev.imprint.engine.source.SourceException;
import dev.imprint.engine.source.Sources;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The one place a job's source is opened and sniffed, whatever it is: an Imprint image (file or
 * http(s) ranges: random access; a pipe or a GET without ranges: one pass), a raw or compressed raw
 * image, or a disk. Every refusal is a {@link Refusal} with one line.
 */
public final class SourceOpener {
  private SourceOpener() {}

  /** The source as chunks for a restore. */
  public static ChunkSupply open(SourceSpec s) throws IOException {
    try {
      if (s.isStdin()) {
        return fromStream(
            s,
            new BufferedInputStream(s.stdin().get(), 1 << 20),
            s.where(),
            OptionalLong.empty(),
            NOWHERE);
      }
      if (s.isHttp()) {
        return openHttp(s);
      }
      if (s.isServer()) {
        return ServerSource.chunks(s);
      }
      Path p = s.localPath();
      FileKind kind = FileKind.probe(p);
      if (kind == FileKind.MISSING) {
        throw new Refusal("source " + s.spec() + " does not exist: check the path");
      }
      if (kind == FileKind.DIRECTORY) {
        throw new Refusal(
            "source "
                + s.spec()
                + " is a directory: give an image, a disk, or restore without --erase to copy"
                + " files");
      }
      if (kind == FileKind.REGULAR_FILE && Sources.isZip(p)) {
        return zipChunks(s, FileDisk.open(p));
      }
      if (Sources.detect(s.spec()) == Magic.Format.IMPRINT) {
        return imageChunks(s, openImage(s.spec()));
      }
      DiskSource disk = Sources.open(s.spec());
      try {
        requireRaw(s, disk);
        ChunkSupply mapped =
            bmapChunks(s, disk, kind == FileKind.REGULAR_FILE ? beside(p) : NOWHERE);
        if (mapped != null) {
          return mapped;
        }
        if (disk instanceof RandomAccessDisk r) {
          return diskChunks(s, r, r.isBlockDevice() && DeviceInfo.probe(p).isPartition());
        }
        return new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE);
      } catch (IOException | RuntimeException e) {
        disk.close();
        throw e;
      }
    } catch (ImageFormatException e) {
      throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
    } catch (BmapException e) {
      throw new Refusal(
          e.damaged() ? Refusal.Problem.DAMAGED : Refusal.Problem.BAD_INPUT, e.getMessage());
    } catch (HttpSourceException | ContainerRefusedException e) {
      throw new Refusal(e.getMessage());
    }
  }

  /** Where a bmap not given with --bmap is looked for: beside a file, beside a URL, nowhere. */
  private interface BmapSearch {
    Optional<Bmap> find() throws IOException;
  }

  private static final BmapSearch NOWHERE = Optional::empty;

  private static BmapSearch beside(Path image) {
    return () -> {
      Optional<Path> file = BmapFinder.beside(image);
      return file.isPresent() ? Optional.of(Bmap.read(file.get())) : Optional.empty();
    };
  }

  /**
   * A raw or compressed raw image with a bmap (given with --bmap, or found {@code beside} the image
   * as bmaptool finds it): its mapped ranges are what is copied, instead of what filesystems use,
   * and each range's checksum is checked from the bytes read before the chunk ending it is written.
   * Null when there is no bmap or the source is not a raw image.
   */
  private static ChunkSupply bmapChunks(SourceSpec s, DiskSource disk, BmapSearch beside)
      throws IOException {
    Path file = s.bmap();
    boolean raw =
        !(disk instanceof ContainerDisk)
            && !(disk instanceof RandomAccessDisk r && r.isBlockDevice());
    if (file != null && s.allBlocks()) {
      throw new Refusal("--bmap and --all-blocks contradict each other: give one of them");
    }
    if (file != null && !raw) {
      throw new Refusal(
          "--bmap goes with a raw image, and "
              + s.where()
              + " is "
              + (disk instanceof ContainerDisk c
                  ? "a " + c.format().name() + " container"
                  : "a disk")
              + ": drop --bmap");
    }
    Bmap bmap = null;
    if (file != null && raw) {
      bmap = Bmap.read(file);
    } else if (raw && !s.allBlocks()) {
      bmap = beside.find().orElse(null);
      if (bmap != null) {
        s.warnings()
            .accept(
                "using the bmap found beside the image: "
                    + bmap.where().substring("bmap ".length()));
      }
    }
    if (bmap == null) {
      return null;
    }
    long size =
        disk instanceof RandomAccessDisk r
            ? r.size()
            : ((SequentialDisk) disk).size().orElse(bmap.imageSize());
    if (size != bmap.imageSize()) {
      throw new Refusal(
          "image "
              + s.where()
              + " is "
              + size
              + " bytes, but "
              + bmap.where()
              + " says "
              + bmap.imageSize()
              + ": give the bmap made with this image (--bmap FILE)");
    }
    DiskChunks chunks =
        disk instanceof RandomAccessDisk
            ? new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE, bmap.used())
            : new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE);
    return chunks.checking(new BmapCheck(bmap));
  }

  /**
   * The one image a zip archive holds, restored as if it were the file: a stored entry read in
   * place (an Imprint image, a container, a raw or compressed disk), a deflated one as a stream.
   * The supply owns {@code archive}.
   */
  private static ChunkSupply zipChunks(SourceSpec s, RandomAccessDisk archive) throws IOException {
    ZipImage.Entry entry = ZipImage.unzip(archive);
    try {
      if (entry instanceof ZipImage.Deflated d) {
        return fromStream(
            s,
            new BufferedInputStream(d.stream(), 1 << 20),
            d.zip().description(),
            OptionalLong.of(d.zip().size()),
            NOWHERE);
      }
      RandomAccessDisk in = ((ZipImage.Stored) entry).disk();
      if (Sources.isImprint(in)) {
        return imageChunks(s, Image.open(in));
      }
      DiskSource disk = Sources.openInput(in);
      requireRaw(s, disk);
      return disk instanceof RandomAccessDisk r
          ? diskChunks(s, r, false)
          : new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE);
    } catch (IOException | RuntimeException e) {
      entry.close();
      throw e;
    }
  }

  /**
   * A raw image, a foreign container or a disk cloned directly, read at random: only what its
   * filesystems use is copied (see {@link Containers#used} for a container's unallocated ranges).
   */
  private static ChunkSupply diskChunks(SourceSpec s, RandomAccessDisk r, boolean volume)
      throws IOException {
    if (s.allBlocks()) {
      return new DiskChunks(r, CreateOptions.DEFAULT_CHUNK_SIZE);
    }
    return new DiskChunks(r, CreateOptions.DEFAULT_CHUNK_SIZE, used(r, volume));
  }

  /**
   * What {@code create} or a restore copies of a disk read at random: the ranges its filesystems
   * use, and for a foreign container whose filesystems are not understood, what it allocated. Null
   * for everything.
   */
  public static List<Extent> used(RandomAccessDisk r, boolean volume) throws IOException {
    return used(r, DiskLayout.analyze(r, volume));
  }

  /** As {@link #used(RandomAccessDisk, boolean)}, from a layout already analysed. */
  public static List<Extent> used(RandomAccessDisk r, DiskLayout layout) {
    return r instanceof ContainerDisk c ? Containers.used(c, layout.used()) : layout.used();
  }

  /**
   * The foreign container (qcow2, VHD, VHDX, UDIF…) in a local file or at an http(s) URL with range
   * support, opened with its tables checked; empty for anything else (an Imprint image, a raw or
   * compressed disk, a pipe). For {@code info}, {@code imagescan} and {@code verify}.
   */
  public static Optional<ContainerDisk> openContainer(SourceSpec s) throws IOException {
    try {
      if (s.isStdin()) {
        return Optional.empty();
      }
      if (s.isHttp()) {
        HttpRangeReader r;
        try {
          r = HttpRangeReader.open(parse(s.spec()), s.http());
        } catch (HttpSourceException e) {
          if (e.kind() == HttpSourceException.Kind.NO_RANGES) {
            return Optional.empty();
          }
          throw e;
        }
        Optional<ContainerDisk> c;
        try {
          c = r.size() == 0 ? Optional.empty() : Containers.open(r);
        } catch (HttpSourceException e) {
          closeQuietly(r);
          if (e.kind() == HttpSourceException.Kind.NO_RANGES) {
            return Optional.empty(); // found out at the first read: not read at random here
          }
          throw e;
        } catch (IOException | RuntimeException e) {
          closeQuietly(r);
          throw e;
        }
        if (c.isEmpty()) {
          r.close();
        }
        return c;
      }
      if (FileKind.probe(s.localPath()) != FileKind.REGULAR_FILE
          || Files.size(s.localPath()) == 0
          || Sources.detect(s.spec()) == Magic.Format.IMPRINT) {
        return Optional.empty();
      }
      return Sources.openContainer(s.localPath());
    } catch (ImageFormatException e) {
      throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
    } catch (HttpSourceException | ContainerRefusedException e) {
      throw new Refusal(e.getMessage());
    }
  }

  /**
   * The source as a disk for {@code create} or a direct clone, sniffed once: a block device or raw
   * file at random access; a compressed file, a pipe or standard input decoded front to back; an
   * http(s) URL at random access through range requests when it holds a raw image and the server
   * supports ranges, else streamed through one resumable GET and decoded. An Imprint image is
   * refused: it is restored, not read as a disk.
   */
  public static DiskSource openDisk(SourceSpec s) throws IOException {
    try {
      if (s.isStdin()) {
        return Sources.openStream(s.where(), s.stdin().get());
      }
      if (s.isHttp()) {
        return openHttpDisk(s);
      }
      return Sources.open(s.spec());
    } catch (SourceException | HttpSourceException | ContainerRefusedException e) {
      throw new Refusal(e.getMessage());
    } catch (ImageFormatException e) {
      throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
    }
  }

  private static DiskSource openHttpDisk(SourceSpec s) throws IOException {
    URI uri = parse(s.spec());
    HttpRangeReader r = null;
    Magic.Format format = null;
    try {
      r = HttpRangeReader.open(uri, s.http());
      if (r.size() == 0) {
        throw new Refusal("source " + r.description() + " is empty: there is no disk in it");
      }
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(Magic.HEAD_LENGTH, r.size()));
      r.readFully(head, 0);
      format = Magic.sniff(head.array(), head.position());
      if (format == Magic.Format.IMPRINT) {
        throw notADisk(r.description());
      }
      if (ZipImage.recognizes(r)) {
        HttpRangeReader archive = r;
        r = null;
        return Sources.openZip(archive);
      }
      Optional<ContainerDisk> container = Containers.open(r);
      if (container.isPresent()) {
        r = null;
        return container.get();
      }
      if (format == Magic.Format.RAW) {
        HttpRangeReader disk = r;
        r = null;
        return disk;
      }
    } catch (HttpSourceException e) {
      if (e.kind() != HttpSourceException.Kind.NO_RANGES) {
        throw e;
      }
      // No range support: the disk can still be read front to back.
    } finally {
      closeQuietly(r);
    }
    HttpStream stream = HttpStream.open(uri, s.http(), s.warnings());
    try {
      BufferedInputStream in = new BufferedInputStream(stream, 1 << 20);
      if (format == null) {
        return Sources.openStream(stream.description(), in);
      }
      // Compressed, already sniffed through a range request.
      return DecodedDisk.open(stream.description(), in, format, OptionalLong.empty());
    } catch (IOException | RuntimeException e) {
      stream.close();
      throw e;
    }
  }

  private static Refusal notADisk(String where) {
    return new Refusal(
        where
            + " is an Imprint image, not a raw disk: restore it as an image instead of reading it as"
            + " a source");
  }

  /** An Imprint image at random access, from a file or an http(s) URL. */
  public static Image openImage(SourceSpec s) throws IOException {
    if (s.isServer()) {
      return ServerSource.open(s);
    }
    if (s.isHttp()) {
      HttpRangeReader r = null;
      try {
        r = HttpRangeReader.open(parse(s.spec()), s.http());
        return Image.open(r);
      } catch (HttpSourceException e) {
        closeQuietly(r);
        throw new Refusal(e.getMessage());
      } catch (ImageFormatException e) {
        closeQuietly(r);
        throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
      }
    }
    return openImage(s.spec());
  }

  /** An Imprint image in a local file. */
  public static Image openImage(String spec) throws IOException {
    Path p = Path.of(spec);
    FileKind kind = FileKind.probe(p);
    if (kind == FileKind.MISSING) {
      throw new Refusal("image " + spec + " does not exist: check the path");
    }
    if (kind == FileKind.DIRECTORY) {
      throw new Refusal("image " + spec + " is a directory: give an image file");
    }
    FileDisk reader;
    try {
      reader = FileDisk.open(p);
    } catch (NoSuchFileException e) {
      throw new Refusal("image " + spec + " does not exist: check the path");
    } catch (AccessDeniedException e) {
      throw new Refusal("cannot read image " + spec + ": permission denied");
    }
    try {
      return Image.open(reader);
    } catch (ImageFormatException e) {
      reader.close();
      throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
    }
  }

  /** Refuses an image that --trust does not allow; warns of signatures that fail. */
  static void checkTrust(SourceSpec s, Image image) throws IOException {
    String refused = Trust.refusal(image.metadata(), s.trust(), s.where());
    if (refused != null) {
      throw new Refusal(refused);
    }
    warnFailingSignatures(s, image.metadata());
  }

  static ChunkSupply imageChunks(SourceSpec s, Image image) throws IOException {
    try {
      checkTrust(s, image);
      Integer volume = s.sourceVolume();
      if (volume == null) {
        return new ImageChunks(image);
      }
      for (Partition p : image.header().partitions()) {
        if (p.number() == volume) {
          return new ImageChunks(image, p.offset(), p.length());
        }
      }
      StringBuilder have = new StringBuilder();
      for (Partition p : image.header().partitions()) {
        have.append(have.length() == 0 ? "" : ", ").append(p.number());
      }
      throw new Refusal(
          "image "
              + s.where()
              + " has no partition "
              + volume
              + (have.length() == 0 ? " (it records none)" : ": it has " + have)
              + "; see imprint info");
    } catch (IOException | RuntimeException e) {
      image.close();
      throw e;
    }
  }

  private static void warnFailingSignatures(
      SourceSpec s, dev.imprint.engine.image.ImageMetadata md) {
    int bad = Signature.failing(md).size();
    if (bad > 0) {
      s.warnings()
          .accept(
              s.where()
                  + " carries "
                  + bad
                  + " signature"
                  + (bad == 1 ? "" : "s")
                  + " that do not verify (tampered or damaged): check it with imprint imagescan");
    }
  }

  /** An image or raw disk arriving as a stream: sniffed, then read in one pass. */
  private static ChunkSupply fromStream(
      SourceSpec s, InputStream in, String where, OptionalLong length, BmapSearch beside)
      throws IOException {
    in.mark(Magic.HEAD_LENGTH);
    byte[] head = in.readNBytes(Magic.HEAD_LENGTH);
    in.reset();
    if (head.length == 0) {
      throw new Refusal("source " + where + " is empty: give an image or a raw disk");
    }
    if (ZipImage.recognizesHead(head, head.length)) {
      InputStream entry = ZipImage.streamed(where, in);
      return fromStream(
          s, new BufferedInputStream(entry, 1 << 20), where, OptionalLong.empty(), NOWHERE);
    }
    Magic.Format f = Magic.sniff(head, head.length);
    if (f == Magic.Format.IMPRINT) {
      if (s.sourceVolume() != null) {
        throw new Refusal(
            "--source-volume needs random access to the image; "
                + where
                + " is a stream: give the image as a file or an http(s) URL");
      }
      // A stream brings its signatures last: with --trust the supply refuses before reading
      // (nothing unproven may be written); without, a failing signature is a warning at the end.
      MetadataCheck check =
          s.trust().isEmpty()
              ? md -> warnFailingSignatures(s, md)
              : MetadataCheck.trust(
                  md -> {
                    String refused = Trust.refusal(md, s.trust(), where);
                    if (refused != null) {
                      throw new Refusal(refused);
                    }
                  });
      try {
        return new StreamedImageChunks(in, where, check);
      } catch (SourceException e) {
        throw new Refusal(e.getMessage());
      }
    }
    Optional<SequentialDisk> container;
    try {
      container = Sources.containerStream(where, in);
    } catch (SourceException e) {
      throw new Refusal(e.getMessage());
    }
    if (container.isPresent()) {
      requireRaw(s, container.get());
      return new DiskChunks(container.get(), CreateOptions.DEFAULT_CHUNK_SIZE);
    }
    requireRaw(s, null);
    DiskSource disk =
        DecodedDisk.open(where, in, f, f == Magic.Format.RAW ? length : OptionalLong.empty());
    ChunkSupply mapped = bmapChunks(s, disk, beside);
    return mapped != null ? mapped : new DiskChunks(disk, CreateOptions.DEFAULT_CHUNK_SIZE);
  }

  /**
   * An http(s) source: an Imprint image is read at random with parallel range requests, and so is a
   * raw image with a bmap (given, or found beside the URL as bmaptool finds it): only its mapped
   * ranges; anything else (or any server without range support) streams through one resumable GET.
   */
  private static ChunkSupply openHttp(SourceSpec s) throws IOException {
    URI uri = parse(s.spec());
    BmapSearch beside = () -> BmapFinder.besideUrl(uri, s.http());
    HttpRangeReader r = null;
    try {
      r = HttpRangeReader.open(uri, s.http());
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(Magic.HEAD_LENGTH, r.size()));
      r.readFully(head, 0);
      Magic.Format format = Magic.sniff(head.array(), head.position());
      if (format == Magic.Format.IMPRINT) {
        Image image;
        try {
          image = Image.open(r);
        } catch (ImageFormatException e) {
          throw new Refusal(Refusal.Problem.DAMAGED, e.getMessage());
        }
        r = null;
        return imageChunks(s, image);
      }
      if (ZipImage.recognizes(r)) {
        HttpRangeReader archive = r;
        r = null;
        return zipChunks(s, archive);
      }
      Optional<ContainerDisk> container = Containers.open(r);
      if (container.isPresent()) {
        r = null;
        try {
          requireRaw(s, container.get());
          return diskChunks(s, container.get(), false);
        } catch (IOException | RuntimeException e) {
          container.get().close();
          throw e;
        }
      }
      if (format == Magic.Format.RAW && r.size() > 0) {
        HttpRangeReader disk = r;
        r = null;
        ChunkSupply mapped;
        try {
          requireRaw(s, disk);
          mapped = bmapChunks(s, disk, beside);
        } catch (IOException | RuntimeException e) {
          disk.close();
          throw e;
        }
        if (mapped != null) {
          return mapped;
        }
        disk.close();
        beside = NOWHERE; // looked for already: none
      } else {
        r.close();
        r = null;
      }
    } catch (HttpSourceException e) {
      if (e.kind() != HttpSourceException.Kind.NO_RANGES) {
        throw e;
      }
      // No range support: an image can still be read front to back.
    } finally {
      closeQuietly(r);
    }
    HttpStream stream = HttpStream.open(uri, s.http(), s.warnings());
    return fromStream(
        s, new BufferedInputStream(stream, 1 << 20), stream.description(), stream.length(), beside);
  }

  private static void requireRaw(SourceSpec s, DiskSource disk) throws Refusal {
    if (s.sourceVolume() != null) {
      throw new Refusal(
          "--source-volume needs an Imprint image of a whole device; " + s.where() + " is not one");
    }
    if (!s.trust().isEmpty()) {
      String what =
          disk instanceof ContainerDisk c ? "a " + c.format().name() + " container" : "a raw image";
      throw new Refusal(
          "source "
              + s.where()
              + " is "
              + what
              + ", which carries no signature, but --trust was"
              + " given: restore a signed Imprint image, or drop --trust");
    }
  }

  private static URI parse(String spec) throws Refusal {
    try {
      return HttpUrls.parse(spec);
    } catch (HttpSourceException e) {
      throw new Refusal(e.getMessage());
    }
  }

  private static void closeQuietly(Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // Already failing with a better message.
      }
    }
  }
}
