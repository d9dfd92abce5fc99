package dev.imprint.engine.bmap;

import dev.imprint.engine.source.Extent;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * A block map as {@code bmaptool create} writes it: which blocks of a raw image hold data, with a
 * checksum per range. Every format version bmaptool reads: 1.0–1.2 (no checksums), 1.3 (SHA-1 in a
 * {@code sha1} attribute, {@code BmapFileSHA1}), 1.4 and 2.x ({@code ChecksumType}, a {@code
 * chksum} attribute, {@code BmapFileChecksum}). Described in docs/CONTAINERS.md.
 *
 * @param algorithm the JDK name of the range checksum ("SHA-256"), or null when ranges carry none
 * @param ranges mapped ranges, ascending and disjoint
 */
public record Bmap(
    String where,
    String version,
    long imageSize,
    int blockSize,
    long blocksCount,
    long mappedBlocks,
    String algorithm,
    List<Range> ranges) {

  /** Blocks first..last (inclusive) and their checksum in lower-case hex, or null. */
  public record Range(long first, long last, String checksum) {}

  private static final Map<String, String> ALGORITHMS =
      Map.of(
          "md5", "MD5",
          "sha1", "SHA-1",
          "sha224", "SHA-224",
          "sha256", "SHA-256",
          "sha384", "SHA-384",
          "sha512", "SHA-512");

  /** More than this is not a bmap but something else. */
  static final long MAX_FILE = 256L << 20;

  /**
   * Reads and checks a bmap file: well-formed, a version bmaptool reads, consistent sizes, ranges
   * in order inside the image, and its own checksum when it carries one.
   *
   * @throws BmapException what is wrong, in one line
   */
  public static Bmap read(Path file) throws IOException {
    String where = "bmap " + file;
    byte[] bytes;
    try {
      if (Files.size(file) > MAX_FILE) {
        throw new BmapException(
            true, where + " is larger than any bmap (" + Files.size(file) + " bytes)");
      }
      bytes = Files.readAllBytes(file);
    } catch (BmapException e) {
      throw e;
    } catch (IOException e) {
      throw new BmapException(false, "cannot read " + where + ": " + e.getMessage());
    }
    return parse(where, bytes);
  }

  /** As {@link #read}, from a bmap's bytes fetched elsewhere (beside an http(s) image). */
  public static Bmap parse(String where, byte[] bytes) throws BmapException {
    Element root = xml(where, bytes).getDocumentElement();
    if (!root.getTagName().equals("bmap")) {
      throw damaged(where, "its root element is <" + root.getTagName() + ">, not <bmap>");
    }
    String version = root.getAttribute("version").trim();
    int major;
    int minor;
    try {
      String[] v = version.split("\\.", 2);
      major = Integer.parseInt(v[0]);
      minor = v.length > 1 ? Integer.parseInt(v[1]) : 0;
    } catch (NumberFormatException e) {
      throw damaged(where, "its version \"" + version + "\" is not major.minor");
    }
    if (major > 2 || major < 1) {
      throw new BmapException(
          false,
          where
              + " has format version "
              + version
              + ", which Imprint does not read (it reads 1.x and 2.x, as bmaptool does)");
    }
    long imageSize = number(where, root, "ImageSize");
    long blockSize = number(where, root, "BlockSize");
    long blocksCount = number(where, root, "BlocksCount");
    long mapped = number(where, root, "MappedBlocksCount");
    if (blockSize <= 0 || blockSize > (64 << 20)) {
      throw damaged(where, "its block size " + blockSize + " is not 1 byte to 64 MiB");
    }
    if (blocksCount != (imageSize + blockSize - 1) / blockSize) {
      throw damaged(
          where,
          "its "
              + blocksCount
              + " blocks of "
              + blockSize
              + " bytes do not make its image size "
              + imageSize);
    }
    // 1.4 is 2.0 released under the wrong number; 1.3 named everything after SHA-1.
    String type = null;
    String attribute = null;
    String fileChecksum = null;
    if (major == 2 || minor == 4) {
      type = text(where, root, "ChecksumType").toLowerCase();
      attribute = "chksum";
      fileChecksum = "BmapFileChecksum";
    } else if (minor == 3) {
      type = "sha1";
      attribute = "sha1";
      fileChecksum = "BmapFileSHA1";
    }
    String algorithm = null;
    int hexLength = 0;
    if (type != null) {
      algorithm = ALGORITHMS.get(type);
      if (algorithm == null) {
        throw new BmapException(
            false,
            where
                + " uses checksum type "
                + type
                + ", which Imprint does not know: "
                + ALGORITHMS.keySet());
      }
      hexLength = digest(algorithm).getDigestLength() * 2;
      checkOwnChecksum(where, bytes, root, fileChecksum, algorithm, hexLength);
    }
    NodeList maps = root.getElementsByTagName("BlockMap");
    if (maps.getLength() != 1) {
      throw damaged(where, "it has " + maps.getLength() + " BlockMap elements, not one");
    }
    NodeList list = ((Element) maps.item(0)).getElementsByTagName("Range");
    List<Range> ranges = new ArrayList<>(list.getLength());
    long next = 0;
    long count = 0;
    for (int i = 0; i < list.getLength(); i++) {
      Element e = (Element) list.item(i);
      String text = e.getTextContent().trim();
      long first;
      long last;
      try {
        int dash = text.indexOf('-');
        first = Long.parseLong((dash < 0 ? text : text.substring(0, dash)).trim());
        last = dash < 0 ? first : Long.parseLong(text.substring(dash + 1).trim());
      } catch (NumberFormatException x) {
        throw damaged(where, "range " + (i + 1) + " \"" + text + "\" is not FIRST-LAST");
      }
      if (first < next || last < first || last >= blocksCount) {
        throw damaged(
            where,
            "range "
                + (i + 1)
                + " ("
                + text
                + ") is out of order, overlaps, or lies past its "
                + blocksCount
                + " blocks");
      }
      String sum = null;
      if (attribute != null && e.hasAttribute(attribute)) {
        sum = e.getAttribute(attribute).trim().toLowerCase();
        if (sum.length() != hexLength || !sum.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
          throw damaged(where, "range " + text + " has checksum \"" + sum + "\", not " + type);
        }
      }
      ranges.add(new Range(first, last, sum));
      next = last + 1;
      count += last - first + 1;
    }
    if (count != mapped) {
      throw damaged(
          where, "its ranges hold " + count + " blocks, but it says " + mapped + " are mapped");
    }
    return new Bmap(
        where, version, imageSize, (int) blockSize, blocksCount, mapped, algorithm, ranges);
  }

  /** The mapped ranges in bytes, the last one cut at the image's end. */
  public List<Extent> used() {
    List<Extent> out = new ArrayList<>(ranges.size());
    for (Range r : ranges) {
      Extent e = bytes(r);
      if (e.length() > 0) {
        out.add(e);
      }
    }
    return out;
  }

  /** A range's bytes: blocks first..last, cut at the image's end. */
  public Extent bytes(Range r) {
    long from = r.first() * blockSize;
    long to = Math.min((r.last() + 1) * blockSize, imageSize);
    return new Extent(from, to - from);
  }

  /** Whether ranges carry checksums to check. */
  public boolean checked() {
    return algorithm != null && ranges.stream().anyMatch(r -> r.checksum() != null);
  }

  static MessageDigest digest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + algorithm, e);
    }
  }

  /** The file's checksum is of the file with that checksum's digits replaced by zeros. */
  private static void checkOwnChecksum(
      String where, byte[] bytes, Element root, String element, String algorithm, int hexLength)
      throws BmapException {
    NodeList n = root.getElementsByTagName(element);
    if (n.getLength() == 0) {
      return; // 1.3 files written before the file checksum existed
    }
    String expected = n.item(0).getTextContent().trim().toLowerCase();
    byte[] want = expected.getBytes(StandardCharsets.US_ASCII);
    int at = indexOf(bytes, want);
    if (expected.length() != hexLength || at < 0) {
      throw damaged(where, "its own checksum \"" + expected + "\" is not a " + algorithm);
    }
    byte[] zeroed = bytes.clone();
    for (int i = 0; i < want.length; i++) {
      zeroed[at + i] = '0';
    }
    String got = HexFormat.of().formatHex(digest(algorithm).digest(zeroed));
    if (!got.equals(expected)) {
      throw damaged(
          where, "its contents give checksum " + got + ", not the " + expected + " it records");
    }
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (Character.toLowerCase(hay[i + j]) != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static Document xml(String where, byte[] bytes) throws BmapException {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      // A bmap comes from anywhere: no DTDs, no external entities.
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setExpandEntityReferences(false);
      DocumentBuilder b = f.newDocumentBuilder();
      b.setErrorHandler(new DefaultHandler()); // fatal errors throw; nothing printed
      return b.parse(new ByteArrayInputStream(bytes));
    } catch (SAXParseException e) {
      throw damaged(
          where,
          "it is not well-formed XML (line " + e.getLineNumber() + ": " + e.getMessage() + ")");
    } catch (SAXException | IOException e) {
      throw damaged(where, "it is not well-formed XML (" + e.getMessage() + ")");
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String text(String where, Element root, String tag) throws BmapException {
    NodeList n = root.getElementsByTagName(tag);
    if (n.getLength() != 1) {
      throw damaged(where, "it has " + n.getLength() + " " + tag + " elements, not one");
    }
    return n.item(0).getTextContent().trim();
  }

  private static long number(String where, Element root, String tag) throws BmapException {
    String t = text(where, root, tag);
    try {
      long v = Long.parseLong(t);
      if (v < 0) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw damaged(where, "its " + tag + " \"" + t + "\" is not a count");
    }
  }

  static BmapException damaged(String where, String what) {
    return new BmapException(true, where + " is damaged: " + what);
  }
}
