package dev.imprint.actors.multicast;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * One byte range of the served image, read from where it starts. Pekko HTTP's own range support
 * slices the whole file's stream, so a range near the end of a 2 GB image read the 2 GB before it:
 * a repair of a few symbols took up to a second per range. The validators (ETag, Last-Modified) are
 * the ones Pekko's {@code getFromFile} gives the whole file, so a client's {@code If-Match} from
 * its HEAD holds.
 */
final class FileRanges {
  private static final Pattern SINGLE = Pattern.compile("bytes=(\\d+)-(\\d*)");
  private static final int PIECE = 256 << 10;
  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", java.util.Locale.US);

  private FileRanges() {}

  /** A range request's answer, or empty when Pekko's whole-file route should answer it. */
  static Optional<HttpResponse> answer(
      Path file, String range, Optional<String> ifMatch, Optional<String> ifUnmodifiedSince)
      throws IOException {
    Matcher m = SINGLE.matcher(range.trim());
    if (!m.matches()) {
      return Optional.empty(); // several ranges, suffixes: rare, Pekko answers them
    }
    long size = Files.size(file);
    long start = Long.parseLong(m.group(1));
    long end = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
    if (start >= size || end < start) {
      return Optional.empty();
    }
    long mtime = Files.getLastModifiedTime(file).toMillis();
    String etag = "\"" + Long.toHexString(mtime ^ Long.reverse(size)) + "\"";
    long modified = Math.min(mtime, System.currentTimeMillis());
    // As Pekko writes it (a two-digit day): clients compare the validator's text.
    String lastModified =
        HTTP_DATE.format(
            ZonedDateTime.ofInstant(Instant.ofEpochMilli(modified / 1000 * 1000), ZoneOffset.UTC));
    boolean changed =
        ifMatch.map(v -> !v.trim().equals("*") && !v.contains(etag)).orElse(false)
            || ifUnmodifiedSince
                .map(
                    v ->
                        ZonedDateTime.parse(v.trim(), DateTimeFormatter.RFC_1123_DATE_TIME)
                                .toInstant()
                                .toEpochMilli()
                            < modified / 1000 * 1000)
                .orElse(false);
    if (changed) {
      return Optional.of(HttpResponse.create().withStatus(StatusCodes.PRECONDITION_FAILED));
    }
    long from = start;
    long to = end + 1;
    Source<ByteString, NotUsed> body =
        Source.unfoldResource(
            () -> new Reading(FileChannel.open(file, StandardOpenOption.READ), from, to),
            Reading::next,
            Reading::close);
    return Optional.of(
        HttpResponse.create()
            .withStatus(StatusCodes.PARTIAL_CONTENT)
            .addHeader(RawHeader.create("ETag", etag))
            .addHeader(RawHeader.create("Last-Modified", lastModified))
            .addHeader(RawHeader.create("Accept-Ranges", "bytes"))
            .addHeader(RawHeader.create("Content-Range", "bytes " + start + "-" + end + "/" + size))
            .withEntity(
                HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, to - from, body)));
  }

  /** Reads [pos, end) of a file in pieces. */
  private static final class Reading {
    private final FileChannel channel;
    private long pos;
    private final long end;

    Reading(FileChannel channel, long pos, long end) {
      this.channel = channel;
      this.pos = pos;
      this.end = end;
    }

    Optional<ByteString> next() throws IOException {
      if (pos >= end) {
        return Optional.empty();
      }
      ByteBuffer b = ByteBuffer.allocate((int) Math.min(PIECE, end - pos));
      while (b.hasRemaining()) {
        if (channel.read(b, pos + b.position()) < 0) {
          throw new IOException("the image ended early (it changed while being served)");
        }
      }
      pos += b.position();
      return Optional.of(ByteString.fromByteBuffer(b.flip()));
    }

    void close() throws IOException {
      channel.close();
    }
  }
}
