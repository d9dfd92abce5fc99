package dev.imprint.engine.bmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.Extent;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bmap format version bmaptool reads, parsed and checked; and finding one beside an image.
 */
public class BmapTest {
  @TempDir Path dir;

  /**
   * A bmap file of {@code version} for {@code image}'s blocks {@code ranges} (first, last pairs),
   * written as bmaptool's writers of that version did: none (1.0-1.2), "sha1" attributes and
   * BmapFileSHA1 (1.3), ChecksumType/chksum/BmapFileChecksum (1.4, 2.0).
   *
   * @param type checksum type for 1.4 and 2.x ("md5", "sha1", "sha256")
   */
  public static String bmapXml(
      byte[] image, int blockSize, String version, String type, long... ranges) throws Exception {
    boolean v13 = version.equals("1.3");
    boolean typed = version.startsWith("2.") || version.equals("1.4");
    String alg = v13 ? "SHA-1" : typed ? jdkName(type) : null;
    String attr = v13 ? "sha1" : "chksum";
    String fileTag = v13 ? "BmapFileSHA1" : "BmapFileChecksum";
    StringBuilder map = new StringBuilder();
    long mapped = 0;
    for (int i = 0; i < ranges.length; i += 2) {
      long first = ranges[i];
      long last = ranges[i + 1];
      mapped += last - first + 1;
      String sum = "";
      if (alg != null) {
        int from = (int) (first * blockSize);
        int to = (int) Math.min((last + 1) * blockSize, image.length);
        MessageDigest md = MessageDigest.getInstance(alg);
        md.update(image, from, to - from);
        sum = " " + attr + "=\"" + HexFormat.of().formatHex(md.digest()) + "\"";
      }
      String text = first == last ? " " + first + " " : " " + first + "-" + last + " ";
      map.append("    <Range").append(sum).append(">").append(text).append("</Range>\n");
    }
    long blocks = (image.length + blockSize - 1) / blockSize;
    String zeros =
        alg == null ? "" : "0".repeat(MessageDigest.getInstance(alg).getDigestLength() * 2);
    String xml =
        "<?xml version=\"1.0\" ?>\n<!-- written by hand, as bmaptool "
            + version
            + " did -->\n<bmap version=\""
            + version
            + "\">\n  <ImageSize> "
            + image.length
            + " </ImageSize>\n  <BlockSize> "
            + blockSize
            + " </BlockSize>\n  <BlocksCount> "
            + blocks
            + " </BlocksCount>\n  <MappedBlocksCount> "
            + mapped
            + " </MappedBlocksCount>\n"
            + (typed ? "  <ChecksumType> " + type + " </ChecksumType>\n" : "")
            + (alg == null ? "" : "  <" + fileTag + "> " + zeros + " </" + fileTag + ">\n")
            + "  <BlockMap>\n"
            + map
            + "  </BlockMap>\n</bmap>\n";
    if (alg != null) {
      String own =
          HexFormat.of()
              .formatHex(
                  MessageDigest.getInstance(alg).digest(xml.getBytes(StandardCharsets.US_ASCII)));
      xml = xml.replace(zeros, own);
    }
    return xml;
  }

  private static String jdkName(String type) {
    return switch (type) {
      case "md5" -> "MD5";
      case "sha1" -> "SHA-1";
      default -> "SHA-256";
    };
  }

  private static byte[] image() {
    byte[] b = new byte[10 * 4096 + 100];
    new SplittableRandom(3).nextBytes(b);
    return b;
  }

  private Bmap parse(String xml) throws IOException {
    Path p = Files.createTempFile(dir, "b", ".bmap");
    Files.writeString(p, xml);
    return Bmap.read(p);
  }

  @Test
  void readsEveryVersion() throws Exception {
    byte[] img = image();
    String[][] versions = {
      {"1.0", null, null},
      {"1.2", null, null},
      {"1.3", null, "SHA-1"},
      {"1.4", "md5", "MD5"},
      {"2.0", "sha1", "SHA-1"},
      {"2.0", "sha256", "SHA-256"},
      {"2.1", "sha256", "SHA-256"}
    };
    for (String[] v : versions) {
      Bmap b = parse(bmapXml(img, 4096, v[0], v[1], 0, 1, 4, 4, 7, 10));
      assertEquals(v[0], b.version());
      assertEquals(v[2], b.algorithm(), v[0]);
      assertEquals(3, b.ranges().size());
      assertEquals(
          List.of(
              new Extent(0, 8192),
              new Extent(4 * 4096, 4096),
              new Extent(7 * 4096, 3 * 4096 + 100)),
          b.used());
      assertEquals(v[2] != null, b.checked());
      if (v[2] == null) {
        assertNull(b.ranges().get(0).checksum());
      }
    }
  }

  @Test
  void readsWhatBmaptoolWrites() throws Exception {
    Root.assumeCommands("bmaptool");
    Path img = dir.resolve("disk.img");
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(8 << 20);
      f.seek(1 << 20);
      f.write(image());
    }
    Path bmap = dir.resolve("disk.img.bmap");
    Cmd.run("bmaptool", "create", "-o", bmap.toString(), img.toString());
    Bmap b = Bmap.read(bmap);
    assertEquals(8 << 20, b.imageSize());
    assertEquals("SHA-256", b.algorithm());
    assertTrue(b.checked());
    assertEquals(1 << 20, b.used().get(0).offset());
  }

  @Test
  void badBmapsAreOneClearLine() throws Exception {
    byte[] img = image();
    String good = bmapXml(img, 4096, "2.0", "sha256", 0, 1, 4, 4);
    assertBad(good.substring(0, good.length() / 2), true, "not well-formed XML");
    assertBad(good.replace("<bmap version=\"2.0\">", "<bmap version=\"3.0\">"), false, "3.0");
    // The file's own checksum catches any edit.
    assertBad(good.replace(" 0-1 ", " 0-2 "), true, "its contents give checksum");
    String v10 = bmapXml(img, 4096, "1.0", null, 0, 1, 4, 4);
    assertBad(v10.replace(" 4 </Range>", " 1 </Range>"), true, "out of order");
    assertBad(v10.replace(" 4 </Range>", " 99 </Range>"), true, "lies past its 11 blocks");
    assertBad(v10.replace("<BlocksCount> 11 ", "<BlocksCount> 12 "), true, "do not make");
    assertBad(v10.replace("<MappedBlocksCount> 3 ", "<MappedBlocksCount> 9 "), true, "mapped");
    assertBad(v10.replace(" 4 </Range>", " x-y </Range>"), true, "not FIRST-LAST");
    assertBad("<!DOCTYPE bmap [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><bmap/>", true, "XML");
  }

  private void assertBad(String xml, boolean damaged, String says) {
    BmapException e = assertThrows(BmapException.class, () -> parse(xml));
    assertEquals(damaged, e.damaged(), e.getMessage());
    assertTrue(e.getMessage().contains(says), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void findsTheBmapBesideTheImageAsBmaptoolDoes() throws IOException {
    Path img = Files.createFile(dir.resolve("disk.img.xz"));
    assertEquals(Optional.empty(), BmapFinder.beside(img));
    Path plain = Files.createFile(dir.resolve("disk.img.bmap"));
    assertEquals(Optional.of(plain), BmapFinder.beside(img));
    Path exact = Files.createFile(dir.resolve("disk.img.xz.bmap"));
    assertEquals(Optional.of(exact), BmapFinder.beside(img));
    Path other = Files.createFile(dir.resolve("other.gz"));
    Files.createFile(dir.resolve("other.bmap"));
    assertEquals(Optional.of(dir.resolve("other.bmap")), BmapFinder.beside(other));
    assertEquals(Optional.empty(), BmapFinder.beside(Files.createFile(dir.resolve(".hidden"))));
    assertTrue(Arrays.asList(dir.toFile().list()).contains("disk.img.bmap"));
  }

  @Test
  void aServerThatAnswersEveryPathHasNoBmapBesideTheImage() throws IOException {
    // RangeServer answers any path with its bytes: as a "soft 404" page or a catch-all route
    // would, the candidates come back 200 and are not bmaps. None is used, and only their first
    // bytes are read, not the image three times over.
    byte[] image = new byte[8 << 20];
    new SplittableRandom(5).nextBytes(image);
    try (dev.imprint.engine.testing.RangeServer server =
        new dev.imprint.engine.testing.RangeServer(image)) {
      assertEquals(
          Optional.empty(),
          BmapFinder.besideUrl(
              server.uri("/images/disk.img.gz"), dev.imprint.engine.http.HttpOptions.defaults()));
    }
  }

  @Test
  void whatBeginsAsABmapDocument() {
    String bmaptool =
        "<?xml version=\"1.0\" ?>\n<!-- This file contains the block map -->\n\n<bmap version=\"2.0\">";
    assertTrue(BmapFinder.looksLikeBmap(bmaptool.getBytes(StandardCharsets.UTF_8)));
    assertTrue(
        BmapFinder.looksLikeBmap(
            "\ufeff  <bmap version=\"1.4\">".getBytes(StandardCharsets.UTF_8)));
    assertFalse(
        BmapFinder.looksLikeBmap(
            "<!DOCTYPE html><html>Not found".getBytes(StandardCharsets.UTF_8)));
    assertFalse(
        BmapFinder.looksLikeBmap(
            "<?xml version=\"1.0\"?><feed/>".getBytes(StandardCharsets.UTF_8)));
    assertFalse(BmapFinder.looksLikeBmap("<!-- unterminated".getBytes(StandardCharsets.UTF_8)));
    assertFalse(BmapFinder.looksLikeBmap(new byte[0]));
  }
}
