package dev.imprint.engine.container.udif;

import com.dd.plist.NSArray;
import com.dd.plist.NSData;
import com.dd.plist.NSDictionary;
import com.dd.plist.NSObject;
import com.dd.plist.NSString;
import com.dd.plist.PropertyListParser;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.RandomAccessInput;
import dev.imprint.engine.source.TruncatedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/**
 * Apple's Universal Disk Image Format (.dmg), recognised by the "koly" trailer in its last 512
 * bytes. The trailer points at an XML property list whose {@code resource-fork/blkx} array holds
 * one table of chunks per partition; chunks are raw, compressed (ADC, zlib, bzip2, LZFSE, LZMA),
 * zero fill or ignored. Encrypted images, sparse images and sparse bundles are recognised by their
 * own magic and refused. See docs/CONTAINERS.md.
 */
public final class Udif implements ContainerFormat {
  /** Property lists beyond this are not a disk's tables (a 2 TiB UDZO's is about 100 MiB). */
  private static final long MAX_PLIST = 256L << 20;

  private static final int HEAD = 4096;

  @Override
  public String name() {
    return "Apple UDIF (.dmg)";
  }

  @Override
  public boolean recognizes(RandomAccessInput in) throws IOException {
    return koly(in) != null || refusal(in) != null;
  }

  @Override
  public ContainerDisk open(RandomAccessInput in) throws IOException {
    ByteBuffer trailer = koly(in);
    String where = in.description();
    if (trailer == null) {
      // Only images without a trailer need their head read (one range request less over http).
      String refused = refusal(in);
      if (refused != null) {
        throw new ContainerRefusedException(where + " is " + refused);
      }
      throw new ImageDamagedException(where + ": no UDIF trailer (koly) in its last 512 bytes");
    }
    Koly k = Koly.parse(trailer);
    long body = in.size() - Koly.SIZE;
    if (k.segmentCount() > 1) {
      throw new ContainerRefusedException(
          where
              + " is segment "
              + k.segmentNumber()
              + " of a "
              + k.segmentCount()
              + "-segment Apple disk image: join the segments with `hdiutil convert FIRST.dmg"
              + " -format UDZO -o WHOLE.dmg` on a Mac and restore that");
    }
    if (k.sectorCount() <= 0 || k.sectorCount() > Long.MAX_VALUE / BlockTable.SECTOR / 2) {
      throw ImageDamagedException.field(
          where, "sector count", k.sectorCount(), "cannot be a disk's size");
    }
    if (k.dataForkOffset() < 0
        || k.dataForkLength() < 0
        || k.dataForkOffset() > body
        || k.dataForkLength() > body - k.dataForkOffset()) {
      throw ImageDamagedException.field(
          where,
          "data fork",
          k.dataForkOffset() + "+" + k.dataForkLength(),
          "passes the file's end (" + body + " bytes before the trailer)");
    }
    if (k.xmlLength() == 0) {
      throw new ContainerRefusedException(
          where
              + " is an Apple disk image without an XML property list (older than Mac OS X 10.2):"
              + " convert it with `hdiutil convert IN.dmg -format UDZO -o OUT.dmg` on a Mac");
    }
    if (k.xmlOffset() < 0
        || k.xmlLength() < 0
        || k.xmlLength() > MAX_PLIST
        || k.xmlOffset() > body
        || k.xmlLength() > body - k.xmlOffset()) {
      throw ImageDamagedException.field(
          where,
          "XML property list",
          k.xmlOffset() + "+" + k.xmlLength(),
          "passes the file's end or is too large");
    }
    ByteBuffer xml = ByteBuffer.allocate((int) k.xmlLength());
    readFully(in, xml, k.xmlOffset());
    List<BlockTable> tables = tables(xml.array(), where, k);
    checkMaster(k, tables, where);
    return new UdifDisk(this, in, k, tables, layout(tables, k, where));
  }

  private static List<BlockTable> tables(byte[] xml, String where, Koly k)
      throws ImageDamagedException {
    NSObject root;
    try {
      root = PropertyListParser.parse(xml);
    } catch (Exception e) {
      // dd-plist reports malformed XML with several checked and unchecked exception types.
      throw ImageDamagedException.field(
          where,
          "XML property list",
          k.xmlOffset() + "+" + k.xmlLength(),
          "is not readable (" + e.getMessage() + ")");
    }
    NSArray blkx = null;
    if (root instanceof NSDictionary d
        && d.objectForKey("resource-fork") instanceof NSDictionary fork
        && fork.objectForKey("blkx") instanceof NSArray a) {
      blkx = a;
    }
    if (blkx == null || blkx.count() == 0) {
      throw ImageDamagedException.field(
          where,
          "XML property list",
          k.xmlOffset() + "+" + k.xmlLength(),
          "has no resource-fork/blkx tables");
    }
    List<BlockTable> tables = new ArrayList<>();
    long forkEnd = k.dataForkOffset() + k.dataForkLength();
    for (int i = 0; i < blkx.count(); i++) {
      String name = "";
      byte[] data = null;
      if (blkx.objectAtIndex(i) instanceof NSDictionary entry) {
        if (entry.objectForKey("Name") instanceof NSString s) {
          name = s.getContent().strip();
        } else if (entry.objectForKey("CFName") instanceof NSString s) {
          name = s.getContent().strip();
        }
        if (entry.objectForKey("Data") instanceof NSData bytes) {
          data = bytes.bytes();
        }
      }
      String tableWhere = where + " blkx " + i + (name.isEmpty() ? "" : " (" + name + ")");
      if (data == null) {
        throw new ImageDamagedException(
            tableWhere + ": the table has no Data: the image is damaged (copy it again)");
      }
      tables.add(
          BlockTable.parse(
              i, name, data, tableWhere, k.sectorCount(), k.dataForkOffset(), forkEnd));
    }
    return tables;
  }

  /** The trailer's master checksum covers the tables' checksum values, concatenated in order. */
  private static void checkMaster(Koly k, List<BlockTable> tables, String where)
      throws ImageDamagedException {
    UdifChecksum master = k.masterChecksum();
    if (!master.checkable()) {
      return;
    }
    UdifChecksum.Running run = master.start();
    for (BlockTable t : tables) {
      run.update(t.checksum().value(), 0, t.checksum().value().length);
    }
    byte[] got = run.finish();
    if (!master.matches(got)) {
      throw ImageDamagedException.field(
          where,
          "master " + master.label() + " of the blkx checksums",
          HexFormat.of().formatHex(got),
          "differs from the " + master.hex() + " in the trailer");
    }
  }

  /**
   * Every chunk in disk order. The tables must cover the disk from its first sector to the
   * trailer's sector count without gaps or overlaps (hdiutil writes a table for free space too); a
   * gap inside one table, between two of its chunks, is zero fill.
   */
  private static Chunk[] layout(List<BlockTable> tables, Koly k, String where)
      throws ImageDamagedException {
    List<BlockTable> sorted = new ArrayList<>(tables);
    sorted.sort(Comparator.comparingLong(BlockTable::firstSector));
    List<Chunk> out = new ArrayList<>();
    long next = 0;
    for (BlockTable t : sorted) {
      String tableWhere =
          where + " blkx " + t.index() + (t.name().isEmpty() ? "" : " (" + t.name() + ")");
      if (t.firstSector() != next) {
        throw ImageDamagedException.field(
            tableWhere,
            "first sector",
            t.firstSector(),
            t.firstSector() < next
                ? "overlaps the table before it (which ends at sector " + next + ")"
                : "leaves sectors " + next + " to " + t.firstSector() + " in no table");
      }
      long at = t.firstSector() * BlockTable.SECTOR;
      for (Chunk c : t.chunks()) {
        if (c.diskOffset() > at) {
          out.add(new Chunk(Chunk.ZERO_FILL, at, c.diskOffset() - at, 0, 0, -1));
        }
        out.add(c);
        at = c.end();
      }
      long end = (t.firstSector() + t.sectorCount()) * BlockTable.SECTOR;
      if (end > at) {
        out.add(new Chunk(Chunk.ZERO_FILL, at, end - at, 0, 0, -1));
      }
      next = t.firstSector() + t.sectorCount();
    }
    if (next != k.sectorCount()) {
      throw ImageDamagedException.field(
          where,
          "sector count",
          k.sectorCount(),
          "differs from the " + next + " sectors its blkx tables cover");
    }
    return out.toArray(new Chunk[0]);
  }

  /** The trailer, if the last 512 bytes are one. */
  private static ByteBuffer koly(RandomAccessInput in) throws IOException {
    if (in.size() < Koly.SIZE) {
      return null;
    }
    ByteBuffer b = ByteBuffer.allocate(Koly.SIZE);
    readFully(in, b, in.size() - Koly.SIZE);
    return Koly.isKoly(b) ? b : null;
  }

  /** What an Apple image Imprint will not read is, and what to do, or null. */
  private static String refusal(RandomAccessInput in) throws IOException {
    int n = (int) Math.min(HEAD, in.size());
    ByteBuffer head = ByteBuffer.allocate(n);
    readFully(in, head, 0);
    String text = new String(head.array(), 0, n, StandardCharsets.ISO_8859_1);
    String convert = "convert it on a Mac with `hdiutil convert IN -format UDZO -o OUT.dmg`";
    if (text.startsWith("encrcdsa")) {
      return "an encrypted Apple disk image (encrcdsa): Imprint does not decrypt; "
          + convert
          + " (without -encryption) and restore that";
    }
    if (text.startsWith("AEA1")) {
      return "an Apple Encrypted Archive (AEA): decrypt it on a Mac with `aea decrypt` and restore"
          + " the .dmg inside";
    }
    if (text.startsWith("sprs")) {
      return "an Apple sparse image (.sparseimage): " + convert + " and restore that";
    }
    if (text.contains("<plist") && text.contains("com.apple.diskimage.sparsebundle")) {
      return "the Info.plist of an Apple sparse bundle (.sparsebundle): "
          + convert
          + " and restore that";
    }
    if (in.size() >= 8) {
      ByteBuffer tail = ByteBuffer.allocate((int) Math.min(1024, in.size()));
      readFully(in, tail, in.size() - tail.capacity());
      String t = new String(tail.array(), StandardCharsets.ISO_8859_1);
      if (t.contains("cdsaencr")) {
        return "an encrypted Apple disk image (cdsaencr, version 1): Imprint does not decrypt; "
            + convert
            + " (without -encryption) and restore that";
      }
    }
    return null;
  }

  private static void readFully(RandomAccessInput in, ByteBuffer b, long at) throws IOException {
    try {
      in.readFully(b, at);
    } catch (TruncatedException e) {
      throw new ImageDamagedException(e.message("the image is damaged (copy it again)"));
    }
  }
}
