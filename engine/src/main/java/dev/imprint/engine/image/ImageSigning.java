package dev.imprint.engine.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Adds a signature to an existing image by appending a new signature block and trailer; the body,
 * index and digest are untouched, so the image keeps its identity.
 */
public final class ImageSigning {
  private ImageSigning() {}

  public static void append(Path file, ImageMetadata md, Signature sig) throws IOException {
    List<Signature> all = new ArrayList<>(md.signatures());
    all.removeIf(s -> java.util.Arrays.equals(s.publicKey(), sig.publicKey()));
    all.add(sig);
    byte[] block = ImageMetadata.encodeSignatures(all);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      long end = ch.size();
      ByteBuffer t = ByteBuffer.allocate(Trailer.LENGTH);
      try (FileChannel r = FileChannel.open(file, StandardOpenOption.READ)) {
        while (t.hasRemaining()) {
          if (r.read(t, end - Trailer.LENGTH + t.position()) < 0) {
            throw new ImageFormatException(file + " is truncated");
          }
        }
      }
      Trailer old = Trailer.decode(t.flip(), end, file.toString());
      Trailer next =
          new Trailer(
              old.major(),
              old.minor(),
              old.headerLength(),
              old.metadataOffset(),
              old.indexLength(),
              end,
              block.length,
              old.digest());
      ByteBuffer out = ByteBuffer.allocate(block.length + Trailer.LENGTH);
      out.put(block).put(next.encode()).flip();
      long p = end;
      while (out.hasRemaining()) {
        p += ch.write(out, p);
      }
      ch.force(true);
    }
  }
}
