package dev.imprint.engine.container.qcow2;

import dev.imprint.engine.container.BlockMap;
import dev.imprint.engine.container.BlockMappedDisk;
import dev.imprint.engine.container.ContainerDisk;
import dev.imprint.engine.container.ContainerFormat;
import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.Extent;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU's qcow2, versions 2 and 3 (docs/CONTAINERS.md): the header, the active L1 table and every L2
 * table are read and checked when opened; refcounts and snapshots are not needed to read the
 * current disk. Backing files, encryption, external data files, extended L2 entries and unknown
 * incompatible features are refused.
 */
public final class Qcow2 implements ContainerFormat {
  private static final byte[] MAGIC = {'Q', 'F', 'I', (byte) 0xfb};

  private static final int V2_HEADER = 72;
  private static final int V3_HEADER = 104;

  private static final long INCOMPATIBLE_DIRTY = 1;
  private static final long INCOMPATIBLE_CORRUPT = 1 << 1;
  private static final long INCOMPATIBLE_EXTERNAL_DATA = 1 << 2;
  private static final long INCOMPATIBLE_COMPRESSION_TYPE = 1 << 3;
  private static final long INCOMPATIBLE_EXTENDED_L2 = 1 << 4;
  private static final long INCOMPATIBLE_KNOWN = (1 << 5) - 1;

  /** Bits 9-55 of L1 and standard L2 entries: a cluster-aligned offset. */
  private static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;

  private static final long COMPRESSED = 1L << 62;
  private static final long COPIED = 1L << 63;
  private static final long L1_RESERVED = 0x7f00_0000_0000_01ffL;
  private static final long L2_RESERVED = 0x3f00_0000_0000_01feL;
  private static final long ZERO_FLAG = 1;

  /** qemu's own limit on the L1 table (32 MiB); a larger one is not a real image. */
  private static final long MAX_L1_ENTRIES = (32 << 20) / 8;

  /** 64 PiB: the most the L1/L2 layout can address. */
  private static final long MAX_SIZE = 1L << 56;

  @Override
  public String name() {
    return "qcow2";
  }

  @Override
  public boolean recognizes(RandomAccessInput in) throws IOException {
    return BlockMappedDisk.hasMagic(in, 0, MAGIC);
  }

  @Override
  public ContainerDisk open(RandomAccessInput in) throws IOException {
    String where = "qcow2 image " + in.description();
    long fileSize = in.size();
    if (fileSize < V2_HEADER) {
      throw new ImageDamagedException(
          where
              + ": the file ends after "
              + fileSize
              + " bytes, inside its header: the image is truncated (copy it again)");
    }
    ByteBuffer h = read(in, 0, (int) Math.min(fileSize, 4096), where);
    int version = h.getInt(4);
    if (version != 2 && version != 3) {
      throw new ContainerRefusedException(
          where
              + " is qcow2 version "
              + Integer.toUnsignedString(version)
              + ", which Imprint does not read (it reads versions 2 and 3): convert it with"
              + " qemu-img convert -O qcow2");
    }
    long backingOffset = h.getLong(8);
    int backingLength = h.getInt(16);
    int clusterBits = h.getInt(20);
    long size = h.getLong(24);
    int crypt = h.getInt(32);
    long l1Entries = Integer.toUnsignedLong(h.getInt(36));
    long l1Offset = h.getLong(40);
    long refcountOffset = h.getLong(48);
    long refcountClusters = Integer.toUnsignedLong(h.getInt(56));
    int snapshots = h.getInt(60);
    if (clusterBits < 9 || clusterBits > 21) {
      throw ImageDamagedException.field(
          where, "cluster_bits", clusterBits, "is outside 9 to 21 (512 bytes to 2 MiB)");
    }
    int cs = 1 << clusterBits;
    long incompatible = 0;
    int compressionType = 0;
    if (version == 3) {
      int headerLength = h.getInt(100);
      if (headerLength < V3_HEADER || headerLength % 8 != 0 || headerLength > Math.min(cs, 4096)) {
        throw ImageDamagedException.field(
            where,
            "header_length",
            Integer.toUnsignedString(headerLength),
            "is not a multiple of 8 between 104 and the cluster size");
      }
      incompatible = h.getLong(72);
      if ((incompatible & INCOMPATIBLE_COMPRESSION_TYPE) != 0) {
        if (headerLength <= V3_HEADER) {
          throw ImageDamagedException.field(
              where, "header_length", headerLength, "leaves no room for compression_type");
        }
        compressionType = h.get(V3_HEADER) & 0xff;
        if (compressionType != 1) {
          throw new ContainerRefusedException(
              where
                  + " compresses with type "
                  + compressionType
                  + ", which Imprint does not know (it reads zlib and zstd): convert it with"
                  + " qemu-img convert -O qcow2");
        }
      } else if (headerLength > V3_HEADER && h.get(V3_HEADER) != 0) {
        throw ImageDamagedException.field(
            where,
            "compression_type",
            h.get(V3_HEADER) & 0xff,
            "is set without its incompatible feature bit");
      }
    }
    refuseFeatures(in, h, where, incompatible, backingOffset, backingLength, crypt, fileSize);
    if (size < 0 || size > MAX_SIZE) {
      throw ImageDamagedException.field(
          where, "size", Long.toUnsignedString(size), "is beyond 64 PiB, more than qcow2 holds");
    }
    int l2Entries = cs / 8;
    long clusters = (size + cs - 1) / cs;
    long l1Needed = (clusters + l2Entries - 1) / l2Entries;
    if (l1Entries < l1Needed || l1Entries > MAX_L1_ENTRIES) {
      throw ImageDamagedException.field(
          where,
          "l1_size",
          l1Entries,
          "does not fit a disk of " + size + " bytes (it needs " + l1Needed + " entries)");
    }
    checkAligned(where, "l1_table_offset", l1Offset, cs);
    checkAligned(where, "refcount_table_offset", refcountOffset, cs);
    List<Extent> metadata = new ArrayList<>();
    metadata.add(new Extent(0, Math.min(cs, fileSize)));
    metadata.add(new Extent(l1Offset, Math.max(8, l1Needed * 8)));
    if (refcountClusters > 0 && refcountClusters <= fileSize / cs) {
      metadata.add(new Extent(refcountOffset, refcountClusters * cs));
    } else if (refcountClusters > fileSize / cs) {
      throw ImageDamagedException.field(
          where, "refcount_table_clusters", refcountClusters, "is larger than the file");
    }
    if (l1Offset > fileSize - l1Needed * 8) {
      throw ImageDamagedException.field(
          where, "l1_table_offset", l1Offset, "places the L1 table past the end of the file");
    }
    ByteBuffer l1 = read(in, l1Offset, (int) (l1Needed * 8), where);
    BlockMap.Builder map = BlockMap.builder(cs, size);
    int x = 62 - (clusterBits - 8);
    long compressedOffsetMask = (1L << x) - 1;
    long sectorsMask = (1L << (clusterBits - 8)) - 1;
    long[] kinds = new long[BlockMap.Kind.values().length];
    for (int i = 0; i < l1Needed; i++) {
      long e = l1.getLong(i * 8);
      if ((e & L1_RESERVED) != 0) {
        throw ImageDamagedException.field(
            where, "L1 entry " + i, String.format("0x%016x", e), "has reserved bits set");
      }
      long l2Offset = e & OFFSET_MASK;
      if (l2Offset == 0) {
        continue; // the whole L2 range is unallocated
      }
      checkAligned(where, "L1 entry " + i, l2Offset, cs);
      if (l2Offset > fileSize - cs) {
        throw ImageDamagedException.field(
            where,
            "L1 entry " + i,
            l2Offset,
            "places an L2 table past the end of the file (" + fileSize + " bytes)");
      }
      metadata.add(new Extent(l2Offset, cs));
      ByteBuffer l2 = read(in, l2Offset, cs, where);
      long base = (long) i * l2Entries;
      for (int j = 0; j < l2Entries && base + j < clusters; j++) {
        long entry = l2.getLong(j * 8);
        long cluster = base + j;
        if ((entry & COMPRESSED) != 0) {
          long host = entry & compressedOffsetMask;
          long sectors = (entry >>> x) & sectorsMask;
          int stored = (int) ((sectors + 1) * 512 - (host & 511));
          if (host == 0) {
            throw ImageDamagedException.field(
                where, "compressed cluster " + cluster, "at file offset 0", "is the header");
          }
          map.add(cluster, 1, BlockMap.Kind.COMPRESSED, host, stored);
          kinds[BlockMap.Kind.COMPRESSED.ordinal()]++;
          continue;
        }
        if ((entry & L2_RESERVED) != 0 || (version == 2 && (entry & ZERO_FLAG) != 0)) {
          throw ImageDamagedException.field(
              where,
              "L2 entry of cluster " + cluster,
              String.format("0x%016x", entry),
              "has reserved bits set");
        }
        long host = entry & OFFSET_MASK;
        if ((entry & ZERO_FLAG) != 0) {
          map.add(cluster, 1, BlockMap.Kind.ZERO, 0, 0);
          kinds[BlockMap.Kind.ZERO.ordinal()]++;
        } else if (host != 0) {
          checkAligned(where, "L2 entry of cluster " + cluster, host, cs);
          map.add(cluster, 1, BlockMap.Kind.STORED, host, 0);
          kinds[BlockMap.Kind.STORED.ordinal()]++;
        } else if ((entry & COPIED) != 0) {
          throw ImageDamagedException.field(
              where,
              "L2 entry of cluster " + cluster,
              String.format("0x%016x", entry),
              "points at file offset 0 (the header)");
        }
      }
    }
    BlockMap built = map.build();
    built.checkPlacement(metadata, fileSize, where, "cluster");
    kinds[BlockMap.Kind.UNALLOCATED.ordinal()] =
        clusters
            - kinds[BlockMap.Kind.STORED.ordinal()]
            - kinds[BlockMap.Kind.COMPRESSED.ordinal()]
            - kinds[BlockMap.Kind.ZERO.ordinal()];
    return new Qcow2Disk(
        this,
        in,
        built,
        version,
        compressionType == 1 ? Qcow2Disk.Compression.ZSTD : Qcow2Disk.Compression.ZLIB,
        snapshots,
        (incompatible & INCOMPATIBLE_DIRTY) != 0,
        kinds);
  }

  private static void refuseFeatures(
      RandomAccessInput in,
      ByteBuffer h,
      String where,
      long incompatible,
      long backingOffset,
      int backingLength,
      int crypt,
      long fileSize)
      throws IOException {
    if (backingOffset != 0) {
      String name = "";
      if (backingLength > 0
          && backingLength <= 1023
          && backingOffset > 0
          && backingOffset <= fileSize - backingLength) {
        name =
            " ("
                + StandardCharsets.UTF_8
                    .decode(read(in, backingOffset, backingLength, where))
                    .toString()
                + ")";
      }
      throw new ContainerRefusedException(
          where
              + " is an overlay on a backing file"
              + name
              + " and holds only what changed: flatten it first with qemu-img convert -O qcow2"
              + " (or -O raw) and give the result");
    }
    if (crypt != 0) {
      throw new ContainerRefusedException(
          where
              + " is encrypted ("
              + (crypt == 1 ? "AES" : crypt == 2 ? "LUKS" : "method " + crypt)
              + "): decrypt it first with qemu-img convert and its secret, and give the result");
    }
    if ((incompatible & INCOMPATIBLE_CORRUPT) != 0) {
      throw new ImageDamagedException(
          where
              + ": qemu marked it corrupt (incompatible feature bit 1): check it with qemu-img"
              + " check -r all, or copy it again");
    }
    if ((incompatible & INCOMPATIBLE_EXTERNAL_DATA) != 0) {
      throw new ContainerRefusedException(
          where
              + " keeps its data in an external data file: convert it with qemu-img convert -O"
              + " qcow2 and give the result");
    }
    if ((incompatible & INCOMPATIBLE_EXTENDED_L2) != 0) {
      throw new ContainerRefusedException(
          where
              + " uses extended L2 entries (subclusters), which Imprint does not read: convert it"
              + " with qemu-img convert -O qcow2 -o extended_l2=off");
    }
    long unknown = incompatible & ~INCOMPATIBLE_KNOWN;
    if (unknown != 0) {
      throw new ContainerRefusedException(
          where
              + " uses incompatible features Imprint does not know (bits 0x"
              + Long.toHexString(unknown)
              + "): convert it with qemu-img convert -O qcow2 (or -O raw)");
    }
  }

  private static ByteBuffer read(RandomAccessInput in, long offset, int length, String where)
      throws IOException {
    return BlockMappedDisk.readTable(in, offset, length, where);
  }

  private static void checkAligned(String where, String field, long offset, int cs)
      throws ImageDamagedException {
    if (offset < 0 || offset % cs != 0) {
      throw ImageDamagedException.field(
          where, field, Long.toUnsignedString(offset), "is not aligned to a cluster");
    }
  }
}
