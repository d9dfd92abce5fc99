package dev.imprint.engine.control;

import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.http.HttpSourceException;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.job.Refusal;
import dev.imprint.engine.pipeline.ImageScanner;
import dev.imprint.engine.pipeline.ProgressListener;
import dev.imprint.engine.source.FileDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Optional;

/**
 * {@code restore --source asr://HOST --file PATH}: the server's image file received into PATH over
 * the control channel, resumably. The bytes go to {@code PATH.part}, beside {@code
 * PATH.part.digest} naming the image they belong to; a later run continues where it stopped, but
 * only from a server of the same image digest (another image is refused, never mixed in). When
 * complete, every chunk's SHA-256 and the digest are checked, then the file is renamed to PATH.
 */
public final class ImageDownload {
  private static final int BLOCK = 4 << 20;

  private ImageDownload() {}

  /**
   * @return the image's digest, hex
   * @throws Refusal a partial file of another image, an existing PATH, or a damaged image
   */
  public static String fetch(String spec, HttpOptions http, Path target, ProgressListener progress)
      throws IOException {
    if (Files.exists(target)) {
      throw new Refusal(target + " exists: remove it or choose another --file");
    }
    Path part = target.resolveSibling(target.getFileName() + ".part");
    Path sidecar = target.resolveSibling(target.getFileName() + ".part.digest");
    ControlClient control = new ControlClient(spec, http.headers());
    Handshake h = control.handshake("file");
    if (Files.exists(part)) {
      String had = Files.exists(sidecar) ? Files.readString(sidecar).trim() : "(unknown)";
      if (!had.equals(h.digest())) {
        control.report(ClientReport.of(h.client(), "left", 0, "another image"));
        throw new Refusal(
            part
                + " holds part of image "
                + had
                + ", but "
                + spec
                + " serves image "
                + h.digest()
                + ": delete "
                + part
                + " to start over, or receive from the server"
                + " of that image");
      }
    } else {
      Files.writeString(sidecar, h.digest() + "\n");
    }
    HttpRangeReader r;
    try {
      r = HttpRangeReader.open(control.imageUri(), http);
    } catch (HttpSourceException e) {
      throw new Refusal(e.getMessage());
    }
    CountingInput counted = new CountingInput(r);
    try (Reporter reporter =
            new Reporter(
                control, h.client(), Reporter.of("fallback", counted::bytesRead, r.size()));
        FileChannel out =
            FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      long size = r.size();
      long pos = Math.min(out.size(), size);
      ByteBuffer b = ByteBuffer.allocateDirect(BLOCK);
      while (pos < size) {
        b.clear().limit((int) Math.min(BLOCK, size - pos));
        counted.readFully(b, pos);
        b.flip();
        while (b.hasRemaining()) {
          pos += out.write(b, pos);
        }
        progress.progress(pos, size);
      }
      out.force(true);
    } finally {
      counted.close();
    }
    try (Image image = Image.open(FileDisk.open(part))) {
      String digest = HexFormat.of().formatHex(image.metadata().digest());
      if (!digest.equals(h.digest())) {
        throw new Refusal(
            Refusal.Problem.DAMAGED,
            part
                + " is not the image the server named (digest "
                + digest
                + "): delete it and"
                + " receive it again");
      }
      Optional<ImageFormatException> damage =
          ImageScanner.scan(image, Runtime.getRuntime().availableProcessors(), (d, t) -> {});
      if (damage.isPresent()) {
        throw new Refusal(
            Refusal.Problem.DAMAGED,
            damage.get().getMessage() + ": delete " + part + " and receive it again");
      }
    } catch (ImageFormatException e) {
      throw new Refusal(
          Refusal.Problem.DAMAGED, e.getMessage() + ": delete " + part + " and receive it again");
    }
    Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
    Files.deleteIfExists(sidecar);
    return h.digest();
  }
}
