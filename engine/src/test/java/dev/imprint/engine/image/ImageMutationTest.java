package dev.imprint.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.engine.pipeline.ImageScanner;
import dev.imprint.engine.pipeline.ProgressListener;
import dev.imprint.engine.signing.Keys;
import dev.imprint.engine.source.FileDisk;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every field of a small image set to hostile values, checksums and digest recomputed so the values
 * themselves are what is wrong: each is refused with one line that says the image is damaged, by
 * the random-access reader with imagescan's full check and by the pipe reader, or (where the value
 * is legal) read back as the same disk. Never another exception, never an out-of-memory error.
 */
class ImageMutationTest {
  @TempDir Path dir;

  /** What one reader made of an image: refused with this message, or read whole. */
  record Outcome(String refusal) {
    boolean refused() {
      return refusal != null;
    }
  }

  @Test
  void everyFieldWithHostileValuesIsRefusedCleanly() throws Exception {
    byte[] good = Files.readAllBytes(image(null));
    ImageMutations m = new ImageMutations(good);
    List<ImageMutations.Mutant> mutants = m.all();
    assertTrue(mutants.size() > 800, "mutants: " + mutants.size());
    List<String> wrong = new ArrayList<>();
    for (ImageMutations.Mutant mu : mutants) {
      Outcome random = scan(mu.bytes(), mu.what());
      Outcome pipe = stream(mu.bytes(), mu.what());
      if (mu.mustRefuse() && !random.refused()) {
        wrong.add("imagescan accepted " + mu.what());
      }
      if (mu.mustRefuse() && !pipe.refused() && !mu.what().startsWith("signature")) {
        wrong.add("the pipe reader accepted " + mu.what());
      }
    }
    assertTrue(wrong.isEmpty(), wrong.size() + " of " + mutants.size() + ":\n" + join(wrong));
  }

  @Test
  void signatureFieldsAreDamageToImagescan() throws Exception {
    byte[] good = Files.readAllBytes(image(Keys.generate()));
    assertFalse(scan(good, "good").refused(), "the signed image is good");
    ImageMutations m = new ImageMutations(good);
    List<String> wrong = new ArrayList<>();
    int n = 0;
    for (ImageMutations.Mutant mu : m.all()) {
      if (!mu.what().startsWith("signature")) {
        continue;
      }
      n++;
      Outcome random = scan(mu.bytes(), mu.what());
      if (mu.mustRefuse() && !random.refused()) {
        wrong.add("imagescan accepted " + mu.what());
      }
      stream(mu.bytes(), mu.what());
    }
    assertTrue(n > 20, "signature mutants: " + n);
    assertTrue(wrong.isEmpty(), join(wrong));
  }

  @Test
  void everyByteFlipAndTruncationIsRefused() throws Exception {
    byte[] good = Files.readAllBytes(image(null));
    Random r = new Random(7);
    List<String> wrong = new ArrayList<>();
    for (int k = 0; k < 300; k++) {
      byte[] b = good.clone();
      int at = r.nextInt(b.length);
      b[at] ^= (byte) (1 << r.nextInt(8));
      String what = "bit flip at byte " + at;
      if (!scan(b, what).refused()) {
        wrong.add("imagescan accepted a " + what);
      }
      Outcome pipe = stream(b, what);
      // The pipe reader checks no payload it isn't given to decode: flips there are the decoder's.
      if (!pipe.refused() && !inPayload(good, at)) {
        wrong.add("the pipe reader accepted a " + what);
      }
    }
    for (int k = 0; k < 60; k++) {
      int cut = k < 30 ? r.nextInt(good.length) : good.length - 1 - r.nextInt(200);
      byte[] b = java.util.Arrays.copyOf(good, cut);
      String what = "cut to " + cut + " bytes";
      if (!scan(b, what).refused()) {
        wrong.add("imagescan accepted an image " + what);
      }
      if (!stream(b, what).refused()) {
        wrong.add("the pipe reader accepted an image " + what);
      }
    }
    assertTrue(wrong.isEmpty(), join(wrong));
  }

  @Test
  void theReportedCasesNameTheFieldAndValue() throws Exception {
    byte[] good = Files.readAllBytes(image(null));
    ImageMutations m = new ImageMutations(good);
    ImageMutations.Field chunk = field(m, "chunk size");
    Outcome huge = scan(m.with(chunk, 1L << 30), "chunk size 2^30");
    assertTrue(
        huge.refusal().contains("chunk size is 1073741824") && huge.refusal().contains("damaged"),
        huge.refusal());
    ImageMutations.Field sigLength = field(m, "trailer signature length");
    Outcome sig = scan(m.with(sigLength, 0xffffffffL), "signature length -1");
    assertTrue(
        sig.refusal().contains("signature block length is 4294967295")
            && sig.refusal().contains("damaged"),
        sig.refusal());
    ImageMutations.Field magic = field(m, "header magic");
    byte[] flipped = good.clone();
    flipped[3] ^= 1;
    assertTrue(scan(flipped, "magic").refusal().contains("header magic"));
    assertTrue(m.fields().contains(magic));
  }

  private static ImageMutations.Field field(ImageMutations m, String name) {
    return m.fields().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow();
  }

  /** Whether file offset {@code at} lies in a stored payload of the good image. */
  private static boolean inPayload(byte[] good, int at) throws IOException {
    Path p = Files.createTempFile("good", ".imprint");
    try {
      Files.write(p, good);
      try (Image image = Image.open(FileDisk.open(p))) {
        for (IndexEntry e : image.metadata().index()) {
          if (e.kind() == RangeKind.DATA
              && at >= e.payloadOffset()
              && at < e.payloadOffset() + e.storedLength()) {
            return true;
          }
        }
      }
      return false;
    } finally {
      Files.delete(p);
    }
  }

  private Path image(java.security.KeyPair signer) throws IOException {
    Path p = dir.resolve(signer == null ? "good.imprint" : "signed.imprint");
    ImageFormatTest.write(p, new ArrayList<>(), signer);
    return p;
  }

  /** The random-access reader and imagescan's full check. */
  private Outcome scan(byte[] bytes, String what) throws IOException {
    Path p = dir.resolve("mutant.imprint");
    Files.write(p, bytes);
    try (Image image = Image.open(FileDisk.open(p))) {
      Optional<ImageFormatException> damage = ImageScanner.scan(image, 2, ProgressListener.NONE);
      if (damage.isPresent()) {
        return refusal(damage.get(), what);
      }
      // Accepted: it must read as the same disk.
      return new Outcome(null);
    } catch (ImageFormatException e) {
      return refusal(e, what);
    } catch (Throwable t) {
      throw new AssertionError(what + ": the random-access reader threw " + t, t);
    }
  }

  /** The pipe reader, decoding every chunk as a pipe restore does. */
  private static Outcome stream(byte[] bytes, String what) {
    try {
      ImageStream s = new ImageStream(new ByteArrayInputStream(bytes), "pipe");
      ImageStream.StoredRecord r;
      while ((r = s.next(ByteBuffer::allocateDirect)) != null) {
        if (r.payload() != null) {
          ByteBuffer out = ByteBuffer.allocateDirect((int) r.entry().logicalLength());
          Image.decode(r.entry(), r.chunkNumber(), r.payload(), out, "pipe");
        }
      }
      return new Outcome(null);
    } catch (ImageFormatException e) {
      return refusal(e, what);
    } catch (Throwable t) {
      throw new AssertionError(what + ": the pipe reader threw " + t, t);
    }
  }

  private static Outcome refusal(ImageFormatException e, String what) {
    String msg = e.getMessage();
    if (msg == null || msg.contains("\n") || msg.contains("null")) {
      fail(what + ": refusal is not one clear line: " + msg);
    }
    boolean named =
        msg.contains("damaged")
            || msg.contains("truncated")
            || msg.contains("upgrade imprint")
            || msg.contains("not an Imprint image");
    assertTrue(named, what + ": refusal does not say the image is damaged: " + msg);
    if (!(e instanceof ImageDamagedException)) {
      assertTrue(
          msg.contains("upgrade imprint") || msg.contains("not an Imprint image"),
          what + ": damage not typed as ImageDamagedException: " + msg);
    }
    return new Outcome(msg);
  }

  private static String join(List<String> l) {
    return String.join("\n", l.subList(0, Math.min(60, l.size())));
  }

  @Test
  void mutationHelperRecomputesChecksums() throws Exception {
    byte[] good = Files.readAllBytes(image(null));
    ImageMutations m = new ImageMutations(good);
    // Setting a reserved field keeps every checksum valid: the image still reads.
    ImageMutations.Field reserved = field(m, "header reserved");
    byte[] b = m.with(reserved, 0);
    assertArrayEquals(good, b);
    assertFalse(scan(m.with(reserved, 7), "reserved 7").refused());
    assertEquals(0, ImageMutations.get(good, 35, 1));
  }
}
