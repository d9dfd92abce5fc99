package dev.imprint.engine.filesystem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;

/**
 * Btrfs on a single device: used are the physical copies of every extent the extent tree lists
 * (file data and tree blocks alike), the first MiB (left to bootloaders; the primary superblock is
 * in it) and the superblock mirrors inside the volume. Chunk space the extent tree does not list is
 * free. Falls back on: more than one device, profiles other than single and DUP, a log tree to
 * replay, blake2b checksums, zoned devices, extent tree v2 and the raid stripe tree.
 */
public final class Btrfs implements FilesystemReader {
  private static final long PRIMARY_SUPER = 64 << 10;
  private static final int SUPER_SIZE = 4096;

  /** The primary copy and the mirrors at 64 MiB and 256 GiB, each where the device reaches. */
  private static final long[] SUPER_COPIES = {64L << 10, 64L << 20, 256L << 30};

  private static final long BOOT_AREA = 1 << 20;
  private static final byte[] MAGIC = "_BHRfS_M".getBytes(StandardCharsets.US_ASCII);
  private static final int CSUM_FIELD = 32; // superblocks and tree blocks start with their checksum
  private static final int SYS_CHUNK_ARRAY = 0x32b;
  private static final int SYS_CHUNK_ARRAY_MAX = 2048;

  // Tree block layout: header, then items (leaves) or key pointers (nodes).
  private static final int HEADER = 101;
  private static final int KEY = 17;
  private static final int ITEM = KEY + 8;
  private static final int KEY_PTR = KEY + 16;
  private static final int MAX_LEVEL = 8;

  // Chunk item: 48 bytes, then 32 per stripe.
  private static final int CHUNK = 48;
  private static final int STRIPE = 32;

  // Item key types and object ids (uapi btrfs_tree.h).
  private static final int ROOT_ITEM = 132;
  private static final int EXTENT_ITEM = 168;
  private static final int METADATA_ITEM = 169;
  private static final int DEV_ITEM = 216;
  private static final int CHUNK_ITEM = 228;
  private static final long EXTENT_TREE = 2;
  private static final long ROOT_ITEM_MIN = 239; // up to and including the root's level

  // Chunk types and profiles.
  private static final long DATA = 1;
  private static final long SYSTEM = 2;
  private static final long METADATA = 4;
  private static final long DUP = 1 << 5;
  private static final long PROFILES = 0x7f8; // RAID0, RAID1, DUP, RAID10, RAID5, RAID6, RAID1C3/4

  // Features: what this reader understands; anything else falls back.
  private static final long INCOMPAT_METADATA_UUID = 1 << 10;
  private static final long INCOMPAT_READABLE = 0xfff | 1 << 16; // up to RAID1C34, simple quota
  private static final long COMPAT_RO_READABLE = 0xf; // free space tree, verity, block group tree
  private static final long FLAGS_READABLE = 0x3 | 1L << 32; // written, reloc, seeding
  private static final long FLAG_ERROR = 1 << 2;
  private static final Map<Long, String> INCOMPAT_NAMES =
      Map.of(1L << 12, "zoned", 1L << 13, "extent tree v2", 1L << 14, "raid stripe tree");

  @Override
  public String name() {
    return "btrfs";
  }

  @Override
  public boolean probe(Volume volume) throws IOException {
    return VolumeReads.matches(VolumeReads.head(volume, PRIMARY_SUPER + 0x40, 8), 0, MAGIC);
  }

  @Override
  public AllocationMap allocation(Volume volume) throws IOException {
    Super sb = superblock(volume);
    Trees trees = new Trees(volume, sb);
    trees.bootstrap();
    trees.readChunkTree();
    Root extentRoot = trees.extentRoot();

    UsedRanges used = new UsedRanges(volume.length());
    used.add(0, BOOT_AREA);
    for (long copy : SUPER_COPIES) {
      if (copy + SUPER_SIZE <= volume.length()) {
        used.add(copy, SUPER_SIZE);
      }
    }
    Extents extents = new Extents(trees, used);
    trees.walk("extent tree", extentRoot, extents);
    extents.flush();
    if (extents.total != sb.bytesUsed) {
      throw new FilesystemException(
          "extent tree lists "
              + extents.total
              + " bytes, the superblock counts "
              + sb.bytesUsed
              + ": counts don't add up");
    }
    return new AllocationMap("btrfs", volume.length(), used.extents(), trees.describe());
  }

  /** The superblock fields this reader relies on, each already checked. */
  private record Super(
      ByteBuffer raw,
      Checksum checksum,
      byte[] treeFsid,
      Root rootTree,
      Root chunkTree,
      long totalBytes,
      long bytesUsed,
      int sectorSize,
      int nodeSize,
      long devid,
      long deviceBytes,
      int sysChunkArraySize) {}

  private static Super superblock(Volume volume) throws IOException {
    ByteBuffer b = VolumeReads.read(volume, PRIMARY_SUPER, SUPER_SIZE, "btrfs superblock");
    if (!VolumeReads.matches(b, 0x40, MAGIC)) {
      throw new FilesystemException("no superblock magic");
    }
    Checksum checksum = Checksum.of(VolumeReads.u16(b, 0xc4));
    checksum.verify(b.array(), "superblock");
    if (b.getLong(0x30) != PRIMARY_SUPER) {
      throw new FilesystemException(
          "superblock says it lives at byte " + b.getLong(0x30) + ", not " + PRIMARY_SUPER);
    }
    long flags = b.getLong(0x38);
    if ((flags & FLAG_ERROR) != 0) {
      // The kernel stopped writing after an error: its trees may not agree with each other.
      throw new FilesystemException("superblock marks the filesystem as having errors");
    }
    if ((flags & ~FLAGS_READABLE) != 0) {
      throw new FilesystemException(
          String.format("superblock flags %x (a metadump or an unfinished conversion)", flags));
    }
    long incompat = b.getLong(0xbc);
    if ((incompat & ~INCOMPAT_READABLE) != 0) {
      long unknown = incompat & ~INCOMPAT_READABLE;
      String name = INCOMPAT_NAMES.get(Long.lowestOneBit(unknown));
      throw new FilesystemException(
          name != null
              ? "uses " + name + ", which this reader does not map"
              : String.format("unknown incompatible features %x", unknown));
    }
    long compatRo = b.getLong(0xb4);
    if ((compatRo & ~COMPAT_RO_READABLE) != 0) {
      throw new FilesystemException(
          String.format("unknown read-only features %x", compatRo & ~COMPAT_RO_READABLE));
    }
    long numDevices = b.getLong(0x88);
    if (numDevices != 1) {
      throw new FilesystemException(
          "spans " + numDevices + " devices; only single-device filesystems are mapped");
    }
    if (b.getLong(0x60) != 0) {
      throw new FilesystemException("has a log tree to replay; mount it once");
    }
    long sectorSize = VolumeReads.u32(b, 0x90);
    long nodeSize = VolumeReads.u32(b, 0x94);
    if (!VolumeReads.isPowerOfTwo(sectorSize) || sectorSize < 4096 || sectorSize > 65536) {
      throw new FilesystemException("sector size " + sectorSize);
    }
    if (!VolumeReads.isPowerOfTwo(nodeSize) || nodeSize < sectorSize || nodeSize > 65536) {
      throw new FilesystemException("node size " + nodeSize + " (sector size " + sectorSize + ")");
    }
    long totalBytes = b.getLong(0x70);
    long deviceBytes = b.getLong(0xc9 + 8);
    for (long size : new long[] {totalBytes, deviceBytes}) {
      if (size < 0 || size > volume.length()) {
        throw new FilesystemException(
            "the filesystem ("
                + Long.toUnsignedString(size)
                + " bytes) is larger than its volume ("
                + volume.length()
                + " bytes)");
      }
    }
    int rootLevel = VolumeReads.u8(b, 0xc6);
    int chunkRootLevel = VolumeReads.u8(b, 0xc7);
    if (rootLevel >= MAX_LEVEL || chunkRootLevel >= MAX_LEVEL) {
      throw new FilesystemException("tree levels " + rootLevel + " and " + chunkRootLevel);
    }
    long sysSize = VolumeReads.u32(b, 0xa0);
    if (sysSize > SYS_CHUNK_ARRAY_MAX) {
      throw new FilesystemException("system chunk array of " + sysSize + " bytes");
    }
    int fsidAt = (incompat & INCOMPAT_METADATA_UUID) != 0 ? 0x23b : 0x20;
    return new Super(
        b,
        checksum,
        Arrays.copyOfRange(b.array(), fsidAt, fsidAt + 16),
        new Root(b.getLong(0x50), rootLevel, b.getLong(0x48)),
        new Root(b.getLong(0x58), chunkRootLevel, b.getLong(0xa4)),
        totalBytes,
        b.getLong(0x78),
        (int) sectorSize,
        (int) nodeSize,
        b.getLong(0xc9),
        deviceBytes,
        (int) sysSize);
  }

  /** The checksum types btrfs writes into superblocks and tree blocks. */
  private enum Checksum {
    CRC32C(4),
    XXHASH64(8),
    SHA256(32);

    private final int size;

    Checksum(int size) {
      this.size = size;
    }

    static Checksum of(int type) throws FilesystemException {
      return switch (type) {
        case 0 -> CRC32C;
        case 1 -> XXHASH64;
        case 2 -> SHA256;
        case 3 -> throw new FilesystemException("unsupported checksum type blake2b");
        default -> throw new FilesystemException("unknown checksum type " + type);
      };
    }

    /** Checks the checksum at the start of {@code block} against the rest of it. */
    void verify(byte[] block, String what) throws FilesystemException {
      byte[] computed = digest(block, CSUM_FIELD, block.length - CSUM_FIELD);
      if (!Arrays.equals(computed, 0, size, block, 0, size)) {
        throw new FilesystemException(
            what
                + " checksum mismatch ("
                + name().toLowerCase(Locale.ROOT)
                + " stored "
                + hex(block, size)
                + ", computed "
                + hex(computed, size)
                + ")");
      }
    }

    private byte[] digest(byte[] b, int from, int length) {
      ByteBuffer out = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
      switch (this) {
        case CRC32C -> {
          CRC32C crc = new CRC32C();
          crc.update(b, from, length);
          out.putInt((int) crc.getValue());
        }
        case XXHASH64 -> out.putLong(Xxh64.HASH.hash(b, from, length, 0));
        case SHA256 -> {
          try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b, from, length);
            out.put(md.digest());
          } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
          }
        }
      }
      return out.array();
    }

    private static String hex(byte[] b, int n) {
      return HexFormat.of().formatHex(b, 0, n);
    }
  }

  /** Loaded on first use: only xxhash filesystems need it. */
  private static final class Xxh64 {
    static final XXHash64 HASH = XXHashFactory.fastestInstance().hash64();
  }

  /** A chunk: logical [logical, logical + length) stored whole at each stripe's device offset. */
  private record Chunk(long logical, long length, long type, long[] stripes) {
    long end() {
      return logical + length;
    }

    String kind() {
      StringBuilder s = new StringBuilder();
      if ((type & DATA) != 0) {
        s.append("data");
      }
      if ((type & METADATA) != 0) {
        s.append(s.isEmpty() ? "" : "+").append("metadata");
      }
      if ((type & SYSTEM) != 0) {
        s.append(s.isEmpty() ? "" : "+").append("system");
      }
      return s + ((type & DUP) != 0 ? " DUP" : " single");
    }
  }

  /**
   * Where a tree starts: its root block, that block's level and the generation it was written in.
   */
  private record Root(long bytenr, int level, long generation) {}

  /** A key, compared as btrfs sorts them: objectid, type, offset, all unsigned. */
  private record Key(long objectid, int type, long offset) implements Comparable<Key> {
    static Key at(ByteBuffer b, int at) {
      return new Key(b.getLong(at), VolumeReads.u8(b, at + 8), b.getLong(at + 9));
    }

    @Override
    public int compareTo(Key o) {
      int c = Long.compareUnsigned(objectid, o.objectid);
      if (c == 0) {
        c = Integer.compare(type, o.type);
      }
      return c != 0 ? c : Long.compareUnsigned(offset, o.offset);
    }
  }

  /** Receives a leaf's items in key order; the item's data is {@code leaf[data, data + size)}. */
  private interface Items {
    void item(Key key, ByteBuffer leaf, int data, int size) throws IOException;
  }

  /** The chunk map, and tree blocks read through it and checked. */
  private static final class Trees {
    private final Volume volume;
    private final Super sb;
    private final NavigableMap<Long, Chunk> chunks = new TreeMap<>();
    private long blocksLeft;

    Trees(Volume volume, Super sb) {
      this.volume = volume;
      this.sb = sb;
      // Every tree block is distinct, so a walk visiting more than fit is going round in circles.
      this.blocksLeft = sb.totalBytes / sb.nodeSize;
    }

    /** The system chunks in the superblock: enough of the map to read the chunk tree. */
    void bootstrap() throws FilesystemException {
      ByteBuffer b = sb.raw;
      int at = SYS_CHUNK_ARRAY;
      int end = SYS_CHUNK_ARRAY + sb.sysChunkArraySize;
      while (at < end) {
        if (at + KEY + CHUNK > end) {
          throw new FilesystemException("system chunk array is cut short");
        }
        Key key = Key.at(b, at);
        if (key.type != CHUNK_ITEM) {
          throw new FilesystemException("system chunk array holds a key of type " + key.type);
        }
        Chunk c = chunk(b, at + KEY, end, key.offset);
        add(c);
        at += KEY + CHUNK + STRIPE * c.stripes.length;
      }
      if (chunks.isEmpty()) {
        throw new FilesystemException("system chunk array is empty");
      }
    }

    /** Replaces the bootstrap map by the chunk tree's, which must contain it. */
    void readChunkTree() throws IOException {
      Map<Long, Chunk> bootstrap = Map.copyOf(chunks);
      NavigableMap<Long, Chunk> all = new TreeMap<>();
      int[] devices = {0};
      walk(
          "chunk tree",
          sb.chunkTree,
          (key, leaf, data, size) -> {
            if (key.type == DEV_ITEM) {
              devices[0]++;
              if (key.offset != sb.devid) {
                throw new FilesystemException("chunk tree lists device " + key.offset);
              }
            } else if (key.type == CHUNK_ITEM) {
              all.put(key.offset, chunk(leaf, data, data + size, key.offset));
            }
          });
      if (devices[0] != 1) {
        throw new FilesystemException("chunk tree lists " + devices[0] + " devices");
      }
      chunks.clear();
      for (Chunk c : all.values()) {
        add(c);
      }
      for (Chunk boot : bootstrap.values()) {
        Chunk c = chunks.get(boot.logical);
        if (c == null || c.length != boot.length || !Arrays.equals(c.stripes, boot.stripes)) {
          throw new FilesystemException(
              "system chunk at " + boot.logical + " differs from the chunk tree's");
        }
      }
    }

    /** The extent tree's root, from its ROOT_ITEM in the root tree. */
    Root extentRoot() throws IOException {
      Root[] found = {null};
      walk(
          "root tree",
          sb.rootTree,
          (key, leaf, data, size) -> {
            if (key.objectid == EXTENT_TREE && key.type == ROOT_ITEM) {
              if (size < ROOT_ITEM_MIN || found[0] != null) {
                throw new FilesystemException("extent tree root item is malformed or repeated");
              }
              found[0] =
                  new Root(
                      leaf.getLong(data + 176),
                      VolumeReads.u8(leaf, data + 238),
                      leaf.getLong(data + 160));
            }
          });
      if (found[0] == null) {
        throw new FilesystemException("root tree has no extent tree");
      }
      if (found[0].level >= MAX_LEVEL) {
        throw new FilesystemException("extent tree level " + found[0].level);
      }
      return found[0];
    }

    /** The chunk holding all of [logical, logical + length). */
    Chunk find(long logical, long length, String what) throws FilesystemException {
      Map.Entry<Long, Chunk> e = chunks.floorEntry(logical);
      if (e == null || length <= 0 || length > e.getValue().end() - logical) {
        throw new FilesystemException(
            what + " at logical " + logical + " (+" + length + ") lies in no chunk");
      }
      return e.getValue();
    }

    String describe() {
      Set<String> kinds = new LinkedHashSet<>();
      for (Chunk c : chunks.values()) {
        kinds.add(c.kind());
      }
      return "btrfs extent tree, " + chunks.size() + " chunks (" + String.join(", ", kinds) + ")";
    }

    /** Visits every leaf item of a tree in key order, checking each block on the way. */
    void walk(String tree, Root root, Items items) throws IOException {
      Key[] last = {null};
      descend(tree, root.bytenr, root.level, root.generation, items, last);
    }

    private void descend(
        String tree, long logical, int level, long generation, Items items, Key[] last)
        throws IOException {
      if (--blocksLeft < 0) {
        throw new FilesystemException(tree + " has more blocks than the filesystem");
      }
      ByteBuffer b = block(tree, logical, level, generation);
      int count = (int) VolumeReads.u32(b, 0x60);
      if (level > 0) {
        for (int i = 0; i < count; i++) {
          int at = HEADER + i * KEY_PTR;
          descend(tree, b.getLong(at + KEY), level - 1, b.getLong(at + KEY + 8), items, last);
        }
        return;
      }
      for (int i = 0; i < count; i++) {
        int at = HEADER + i * ITEM;
        Key key = Key.at(b, at);
        long data = HEADER + VolumeReads.u32(b, at + KEY);
        long size = VolumeReads.u32(b, at + KEY + 4);
        if (data < HEADER + (long) count * ITEM || data + size > sb.nodeSize) {
          throw new FilesystemException(
              tree + " block at " + logical + ": item " + i + " overflows");
        }
        if (last[0] != null && key.compareTo(last[0]) <= 0) {
          throw new FilesystemException(tree + " block at " + logical + ": keys out of order");
        }
        last[0] = key;
        items.item(key, b, (int) data, (int) size);
      }
    }

    /** A tree block whose header and checksum hold, from the first copy that passes. */
    private ByteBuffer block(String tree, long logical, int level, long generation)
        throws IOException {
      String what = tree + " block at " + logical;
      Chunk c = find(logical, sb.nodeSize, what);
      FilesystemException first = null;
      for (long stripe : c.stripes) {
        ByteBuffer b = VolumeReads.read(volume, stripe + logical - c.logical, sb.nodeSize, what);
        try {
          checkBlock(b, what, logical, level, generation);
          return b;
        } catch (FilesystemException e) {
          first = first == null ? e : first;
        }
      }
      throw first;
    }

    private void checkBlock(ByteBuffer b, String what, long logical, int level, long generation)
        throws FilesystemException {
      sb.checksum.verify(b.array(), what);
      if (!Arrays.equals(b.array(), 0x20, 0x30, sb.treeFsid, 0, 16)) {
        throw new FilesystemException(what + " belongs to another filesystem");
      }
      if (b.getLong(0x30) != logical) {
        throw new FilesystemException(what + " says it lives at " + b.getLong(0x30));
      }
      // A generation other than the parent's means a stale or torn write.
      if (b.getLong(0x50) != generation) {
        throw new FilesystemException(
            what + " has generation " + b.getLong(0x50) + ", expected " + generation);
      }
      if (VolumeReads.u8(b, 0x64) != level) {
        throw new FilesystemException(
            what + " is at level " + VolumeReads.u8(b, 0x64) + ", expected " + level);
      }
      long count = VolumeReads.u32(b, 0x60);
      if (count > (sb.nodeSize - HEADER) / (level == 0 ? ITEM : KEY_PTR)) {
        throw new FilesystemException(what + " holds " + count + " items, more than fit");
      }
    }

    /** A chunk item at {@code b[at, limit)}, checked against this reader's limits. */
    private Chunk chunk(ByteBuffer b, int at, int limit, long logical) throws FilesystemException {
      String what = "chunk at logical " + logical;
      if (at + CHUNK > limit) {
        throw new FilesystemException(what + " is cut short");
      }
      long length = b.getLong(at);
      long type = b.getLong(at + 24);
      int stripes = VolumeReads.u16(b, at + 44);
      if (stripes == 0 || at + CHUNK + (long) stripes * STRIPE > limit) {
        throw new FilesystemException(what + " has " + stripes + " stripes in too little room");
      }
      if (length <= 0 || length % sb.sectorSize != 0 || logical % sb.sectorSize != 0) {
        throw new FilesystemException(what + " has length " + length);
      }
      if (logical < 0 || logical > Long.MAX_VALUE - length) {
        // Its end would wrap, and the overlap checks compare ends.
        throw new FilesystemException(what + " ends past the largest address");
      }
      if ((type & (DATA | METADATA | SYSTEM)) == 0) {
        throw new FilesystemException(String.format("%s has type %x", what, type));
      }
      long profile = type & PROFILES;
      if (!(profile == 0 && stripes == 1) && !(profile == DUP && stripes == 2)) {
        throw new FilesystemException(
            String.format(
                "%s has profile %x with %d stripes; only single and DUP are mapped",
                what, profile, stripes));
      }
      long[] physical = new long[stripes];
      for (int i = 0; i < stripes; i++) {
        int s = at + CHUNK + i * STRIPE;
        long devid = b.getLong(s);
        physical[i] = b.getLong(s + 8);
        if (devid != sb.devid) {
          throw new FilesystemException(what + " has a stripe on device " + devid);
        }
        if (physical[i] < 0 || physical[i] + length > sb.deviceBytes || physical[i] + length < 0) {
          throw new FilesystemException(what + " lies outside the device");
        }
      }
      return new Chunk(logical, length, type, physical);
    }

    private void add(Chunk c) throws FilesystemException {
      Map.Entry<Long, Chunk> before = chunks.floorEntry(c.logical);
      Map.Entry<Long, Chunk> after = chunks.ceilingEntry(c.logical);
      if ((before != null && before.getValue().end() > c.logical)
          || (after != null && after.getKey() < c.end())) {
        throw new FilesystemException("chunk at logical " + c.logical + " overlaps another");
      }
      chunks.put(c.logical, c);
    }
  }

  /**
   * The extent tree's allocated ranges, in key order: adjacent extents in one chunk are joined
   * before they are mapped to each of the chunk's copies.
   */
  private static final class Extents implements Items {
    private final Trees trees;
    private final UsedRanges used;
    private Chunk chunk;
    private long start;
    private long end;
    long total;

    Extents(Trees trees, UsedRanges used) {
      this.trees = trees;
      this.used = used;
    }

    @Override
    public void item(Key key, ByteBuffer leaf, int data, int size) throws IOException {
      long length;
      if (key.type == EXTENT_ITEM) {
        length = key.offset;
      } else if (key.type == METADATA_ITEM) {
        length = trees.sb.nodeSize;
      } else {
        return;
      }
      long at = key.objectid;
      if (chunk != null && Long.compareUnsigned(at, end) < 0) {
        throw new FilesystemException("extent at logical " + at + " overlaps the one before");
      }
      Chunk c = trees.find(at, length, "extent");
      total += length;
      if (c == chunk && at == end) {
        end += length;
        return;
      }
      flush();
      chunk = c;
      start = at;
      end = at + length;
    }

    void flush() {
      if (chunk == null) {
        return;
      }
      for (long stripe : chunk.stripes) {
        used.add(stripe + start - chunk.logical, end - start);
      }
    }
  }
}
