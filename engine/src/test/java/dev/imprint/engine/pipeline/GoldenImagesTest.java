package dev.imprint.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.codec.Codec;
import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.http.HttpOptions;
import dev.imprint.engine.http.HttpRangeReader;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageMetadata;
import dev.imprint.engine.image.MetadataCheck;
import dev.imprint.engine.image.RangeKind;
import dev.imprint.engine.image.Signature;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.signing.Keys;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.NginxServer;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The golden images in test resources {@code golden/}, made once by an earlier writer and checked
 * in (see its README), restore to the disks their SHA256SUMS record: read from a file, from a pipe
 * and over HTTP. Nothing here writes an image, so a change of the writer cannot hide a change of
 * the reader.
 */
class GoldenImagesTest {
  /** One line of SHA256SUMS: what {@code name} restores to. */
  record Golden(String name, long size, String sha256) {
    @Override
    public String toString() {
      return name;
    }
  }

  static ActorSystem system;
  static Materializer mat;
  static Path golden;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create("golden-test");
    mat = Materializer.matFromSystem(system);
    golden = goldenDir();
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  static Path goldenDir() throws Exception {
    var url = GoldenImagesTest.class.getClassLoader().getResource("golden/SHA256SUMS");
    assertTrue(url != null, "missing test resource golden/SHA256SUMS");
    return Path.of(url.toURI()).getParent();
  }

  static List<Golden> images() throws Exception {
    List<Golden> all = new ArrayList<>();
    for (String line : Files.readAllLines(goldenDir().resolve("SHA256SUMS"))) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.trim().split("\\s+");
      all.add(new Golden(f[2], Long.parseLong(f[1]), f[0]));
    }
    return all;
  }

  /** Every codec at the smallest, default and largest chunk size, signed, partitioned. */
  @Test
  void theSetCoversEveryCodecAndChunkSize() throws Exception {
    List<String> names = images().stream().map(Golden::name).toList();
    for (String codec : List.of("zstd", "lz4", "none")) {
      for (String cs : List.of("64k", "4m", "64m")) {
        String name = codec + "-" + cs + ".imprint";
        assertTrue(names.contains(name), "missing " + name);
        try (Image image = Image.open(FileDisk.open(golden.resolve(name)))) {
          assertEquals(Codec.valueOf(codec.toUpperCase(Locale.ROOT)), image.header().codec(), name);
          int chunk = cs.equals("64k") ? 64 << 10 : cs.equals("4m") ? 4 << 20 : 64 << 20;
          assertEquals(chunk, image.header().chunkSize(), name);
          assertTrue(image.metadata().bytesOf(RangeKind.DATA) > 0, name);
        }
      }
    }
    try (Image image = Image.open(FileDisk.open(golden.resolve("signed.imprint")))) {
      assertEquals(1, image.metadata().signatures().size());
      trusted().check(image.metadata());
    }
    try (Image image = Image.open(FileDisk.open(golden.resolve("partitions.imprint")))) {
      assertEquals(PartitionScheme.GPT, image.header().scheme());
      assertEquals(2, image.header().partitions().size());
      assertTrue(image.metadata().bytesOf(RangeKind.UNALLOCATED) > 0, "free space is skipped");
      assertThrows(IOException.class, () -> trusted().check(image.metadata()), "not signed");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("images")
  void restoresFromAFile(Golden g) throws Exception {
    try (Image image = Image.open(FileDisk.open(golden.resolve(g.name())))) {
      checkSignature(g, image.metadata());
      assertRestores(g, new ImageChunks(image));
    }
  }

  /** Through a real pipe (cat's stdout): the image is read once, front to back. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("images")
  void restoresFromAPipe(Golden g) throws Exception {
    Process cat =
        new ProcessBuilder("cat", golden.resolve(g.name()).toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try (InputStream pipe = cat.getInputStream()) {
      MetadataCheck check = g.name().startsWith("signed") ? trusted() : MetadataCheck.NONE;
      assertRestores(g, new StreamedImageChunks(pipe, "pipe", check));
    } finally {
      assertTrue(cat.waitFor(30, TimeUnit.SECONDS));
      cat.destroy();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("images")
  void restoresOverHttp(Golden g) throws Exception {
    Root.assume(NginxServer.available(), "nginx is not installed (apt-get install nginx-light)");
    try (NginxServer nginx = new NginxServer(dir.resolve("nginx"), "100m")) {
      Files.copy(golden.resolve(g.name()), nginx.www().resolve(g.name()));
      nginx.start();
      try (Image image =
          Image.open(HttpRangeReader.open(nginx.uri("/" + g.name()), HttpOptions.defaults()))) {
        checkSignature(g, image.metadata());
        assertRestores(g, new ImageChunks(image));
      }
    }
  }

  /** Restores onto a new file and compares it with the recorded digest. */
  private void assertRestores(Golden g, ChunkSupply supply) throws Exception {
    Path target = dir.resolve("restored.raw");
    Files.deleteIfExists(target);
    try (supply;
        TargetWriter w =
            new TargetWriter(
                target.toString(), TargetDevice.open(target, OpenMode.SHARED), false)) {
      w.erase(g.size());
      new RestorePipeline(mat, new RestoreOptions(2, RestoreOptions.DEFAULT_HELD_REGION))
          .write(supply, List.of(w))
          .toCompletableFuture()
          .get(120, TimeUnit.SECONDS);
      assertFalse(w.failed(), () -> String.valueOf(w.failure()));
    }
    assertEquals(g.size(), Files.size(target), g.name());
    assertEquals(g.sha256(), TestData.sha256(target), g.name() + " restores to the recorded disk");
  }

  private static void checkSignature(Golden g, ImageMetadata md) throws IOException {
    if (g.name().startsWith("signed")) {
      trusted().check(md);
    } else {
      assertEquals(List.of(), md.signatures(), g.name());
    }
  }

  /** Accepts metadata signed by the checked-in golden/signed.pub, and nothing else. */
  private static MetadataCheck trusted() {
    return md -> {
      byte[] key;
      try {
        key = Keys.rawPublic(Keys.loadPublic(goldenDir().resolve("signed.pub")));
      } catch (Exception e) {
        throw new IOException(e);
      }
      for (Signature s : md.signatures()) {
        if (Arrays.equals(s.publicKey(), key) && Keys.verify(s, md.digest())) {
          return;
        }
      }
      throw new IOException("not signed by golden/signed.pub");
    };
  }
}
