package dev.imprint.engine.filesystem;

import static dev.imprint.engine.filesystem.VolumeReads.u16;
import static dev.imprint.engine.filesystem.VolumeReads.u32;
import static dev.imprint.engine.filesystem.VolumeReads.u8;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * NTFS: the used clusters are the set bits of $Bitmap (MFT record 6), found through $MFT's own
 * runlist. Both boot sectors are always used: the backup sits in the volume's last sector, outside
 * the clusters the bitmap covers. Not supported (falls back): a $Bitmap whose $DATA is compressed,
 * or moved to an attribute list.
 */
public final class Ntfs implements FilesystemReader {
  private static final byte[] OEM = "NTFS    ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] FILE = "FILE".getBytes(StandardCharsets.US_ASCII);
  private static final int MFT_RECORD_MFT = 0;
  private static final int MFT_RECORD_BITMAP = 6;
  private static final int ATTR_DATA = 0x80;
  private static final int ATTR_LIST = 0x20;
  private static final int ATTR_END = 0xFFFFFFFF;

  /** Update sequence fixups protect every 512 bytes, whatever the sector size. */
  private static final int FIXUP_STRIDE = 512;

  @Override
  public String name() {
    return "ntfs";
  }

  @Override
  public boolean probe(Volume volume) throws IOException {
    return VolumeReads.matches(VolumeReads.head(volume, 0, 512), 3, OEM);
  }

  @Override
  public AllocationMap allocation(Volume volume) throws IOException {
    ByteBuffer b = VolumeReads.read(volume, 0, 512, "NTFS boot sector");
    if (!VolumeReads.matches(b, 3, OEM)) {
      throw new FilesystemException("no NTFS OEM id");
    }
    int bytesPerSector = u16(b, 0x0B);
    if (!VolumeReads.isPowerOfTwo(bytesPerSector)
        || bytesPerSector < 256
        || bytesPerSector > 4096) {
      throw new FilesystemException("boot sector: " + bytesPerSector + " bytes per sector");
    }
    int spcByte = u8(b, 0x0D);
    long sectorsPerCluster;
    if (spcByte == 0) {
      throw new FilesystemException("boot sector: 0 sectors per cluster");
    } else if (spcByte > 0x80) {
      // Large clusters: the byte is a negative power of two.
      int shift = 256 - spcByte;
      if (shift > 20) {
        throw new FilesystemException("boot sector: 2^" + shift + " sectors per cluster");
      }
      sectorsPerCluster = 1L << shift;
    } else if (VolumeReads.isPowerOfTwo(spcByte)) {
      sectorsPerCluster = spcByte;
    } else {
      throw new FilesystemException("boot sector: " + spcByte + " sectors per cluster");
    }
    long clusterSize = sectorsPerCluster * bytesPerSector;
    if (clusterSize > (2L << 20)) {
      throw new FilesystemException("boot sector: clusters of " + clusterSize + " bytes");
    }
    long totalSectors = b.getLong(0x28);
    if (totalSectors <= 0 || totalSectors > volume.length() / bytesPerSector) {
      throw new FilesystemException(
          "boot sector: "
              + totalSectors
              + " sectors do not fit the volume ("
              + volume.length()
              + " bytes)");
    }
    long clusters = totalSectors / sectorsPerCluster;
    long mftLcn = b.getLong(0x30);
    if (mftLcn <= 0 || mftLcn >= clusters) {
      throw new FilesystemException("boot sector: $MFT at cluster " + mftLcn + " of " + clusters);
    }
    int recordByte = b.get(0x40);
    long recordSize = recordByte > 0 ? recordByte * clusterSize : 1L << -recordByte;
    if (recordByte == 0
        || recordSize < 256
        || recordSize > 65536
        || recordSize % FIXUP_STRIDE != 0) {
      throw new FilesystemException("boot sector: MFT records of " + recordSize + " bytes");
    }

    // $MFT's first record describes where the rest of $MFT (record 6 included) lives.
    ByteBuffer mft = record(volume, mftLcn * clusterSize, (int) recordSize, MFT_RECORD_MFT);
    List<Run> mftRuns = dataRuns(mft, MFT_RECORD_MFT, clusters);
    long bitmapAt = locate(mftRuns, MFT_RECORD_BITMAP * recordSize, clusterSize);
    if (bitmapAt < 0) {
      throw new FilesystemException("$MFT's runlist does not reach record 6 ($Bitmap)");
    }
    ByteBuffer bitmapRecord = record(volume, bitmapAt, (int) recordSize, MFT_RECORD_BITMAP);
    Attribute data = findData(bitmapRecord, MFT_RECORD_BITMAP);
    long needBytes = (clusters + 7) / 8;

    UsedRanges used = new UsedRanges(volume.length());
    used.add(0, bytesPerSector);
    used.add(totalSectors * bytesPerSector, bytesPerSector);
    used.add(volume.length() / bytesPerSector * bytesPerSector - bytesPerSector, bytesPerSector);
    if (!data.nonResident) {
      if (data.valueLength < needBytes) {
        throw new FilesystemException("$Bitmap is shorter than the volume's clusters");
      }
      byte[] bits = new byte[(int) data.valueLength];
      bitmapRecord.get(data.valueOffset, bits);
      used.addBitmap(bits, 0, clusters, 0, clusterSize);
    } else {
      if (data.dataSize < needBytes) {
        throw new FilesystemException(
            "$Bitmap holds " + data.dataSize + " bytes, " + needBytes + " needed");
      }
      readBitmap(volume, data, clusters, clusterSize, used);
    }
    String how = "ntfs $Bitmap, " + clusters + " clusters of " + clusterSize + " bytes";
    return new AllocationMap("ntfs", volume.length(), used.extents(), how);
  }

  /** Feeds the non-resident bitmap to {@code used}, one run at a time. */
  private static void readBitmap(
      Volume volume, Attribute data, long clusters, long clusterSize, UsedRanges used)
      throws IOException {
    long initialized = Math.min(data.initializedSize, (clusters + 7) / 8);
    long byteVcn = 0; // byte offset within the bitmap
    final int chunk = 1 << 20; // bytes of bitmap per read: 8 Mi clusters
    for (Run run : data.runs) {
      long runBytes = run.length * clusterSize;
      if (run.lcn < 0) {
        byteVcn += runBytes; // sparse: all zero, all free
        continue;
      }
      for (long off = 0; off < runBytes && byteVcn + off < initialized; off += chunk) {
        int n = (int) Math.min(chunk, Math.min(runBytes - off, initialized - byteVcn - off));
        ByteBuffer bits = VolumeReads.read(volume, run.lcn * clusterSize + off, n, "$Bitmap");
        long firstCluster = (byteVcn + off) * 8;
        long count = Math.min((long) n * 8, clusters - firstCluster);
        used.addBitmap(bits.array(), 0, count, firstCluster, clusterSize);
      }
      byteVcn += runBytes;
    }
  }

  /** Reads one MFT record and applies its update sequence fixups. */
  private static ByteBuffer record(Volume volume, long at, int size, int number)
      throws IOException {
    ByteBuffer r = VolumeReads.read(volume, at, size, "MFT record " + number);
    if (!VolumeReads.matches(r, 0, FILE)) {
      throw new FilesystemException("MFT record " + number + " has no FILE magic");
    }
    int usaOffset = u16(r, 0x04);
    int usaCount = u16(r, 0x06);
    if (usaCount != size / FIXUP_STRIDE + 1
        || usaOffset < 0x28
        || usaOffset + 2 * usaCount > size) {
      throw new FilesystemException("MFT record " + number + " has a bad update sequence array");
    }
    short usn = r.getShort(usaOffset);
    for (int i = 1; i < usaCount; i++) {
      int end = i * FIXUP_STRIDE - 2;
      if (r.getShort(end) != usn) {
        throw new FilesystemException("MFT record " + number + " is torn (fixup mismatch)");
      }
      r.putShort(end, r.getShort(usaOffset + 2 * i));
    }
    if ((u16(r, 0x16) & 1) == 0) {
      throw new FilesystemException("MFT record " + number + " is not in use");
    }
    return r;
  }

  private record Run(long lcn, long length) {}

  private record Attribute(
      boolean nonResident,
      long valueLength,
      int valueOffset,
      long dataSize,
      long initializedSize,
      List<Run> runs) {}

  private static List<Run> dataRuns(ByteBuffer record, int number, long clusters)
      throws FilesystemException {
    Attribute a = findData(record, number);
    if (!a.nonResident) {
      throw new FilesystemException("MFT record " + number + " has resident data");
    }
    for (Run run : a.runs) {
      if (run.lcn >= 0 && run.lcn + run.length > clusters) {
        throw new FilesystemException("MFT record " + number + " points past the volume");
      }
    }
    return a.runs;
  }

  /** Device byte offset of byte {@code offset} of a runlist's data, or -1 if not mapped. */
  private static long locate(List<Run> runs, long offset, long clusterSize) {
    long vcnBytes = 0;
    for (Run run : runs) {
      long len = run.length * clusterSize;
      if (offset < vcnBytes + len) {
        return run.lcn < 0 ? -1 : run.lcn * clusterSize + (offset - vcnBytes);
      }
      vcnBytes += len;
    }
    return -1;
  }

  /** The unnamed $DATA attribute of a record. */
  private static Attribute findData(ByteBuffer r, int number) throws FilesystemException {
    int size = r.limit();
    int at = u16(r, 0x14);
    long inUse = Math.min(u32(r, 0x18), size);
    boolean hasList = false;
    while (at + 8 <= inUse) {
      int type = r.getInt(at);
      if (type == ATTR_END) {
        break;
      }
      long length = u32(r, at + 4);
      if (length < 16 || at + length > inUse) {
        throw new FilesystemException("MFT record " + number + " has a bad attribute length");
      }
      if (type == ATTR_LIST) {
        hasList = true;
      }
      if (type == ATTR_DATA && u8(r, at + 9) == 0) {
        return parseData(r, at, (int) length, number);
      }
      at += (int) length;
    }
    throw new FilesystemException(
        "MFT record "
            + number
            + " has no $DATA attribute"
            + (hasList ? " (it is in an attribute list, not supported)" : ""));
  }

  private static Attribute parseData(ByteBuffer r, int at, int length, int number)
      throws FilesystemException {
    boolean nonResident = u8(r, at + 8) != 0;
    if (!nonResident) {
      long valueLength = u32(r, at + 0x10);
      int valueOffset = u16(r, at + 0x14);
      if (valueOffset + valueLength > length) {
        throw new FilesystemException("MFT record " + number + ": resident $DATA overflows");
      }
      return new Attribute(
          false, valueLength, at + valueOffset, valueLength, valueLength, List.of());
    }
    if ((u16(r, at + 0x0C) & 0x00FF) != 0) {
      throw new FilesystemException("MFT record " + number + ": compressed $DATA not supported");
    }
    if (r.getLong(at + 0x10) != 0) {
      throw new FilesystemException("MFT record " + number + ": $DATA does not start at VCN 0");
    }
    long dataSize = r.getLong(at + 0x30);
    long initialized = r.getLong(at + 0x38);
    int pairs = at + u16(r, at + 0x20);
    int end = at + length;
    List<Run> runs = new ArrayList<>();
    long lcn = 0;
    while (pairs < end) {
      int header = u8(r, pairs);
      if (header == 0) {
        break;
      }
      int lenSize = header & 0xF;
      int offSize = header >>> 4;
      if (lenSize == 0 || lenSize > 8 || offSize > 8 || pairs + 1 + lenSize + offSize > end) {
        throw new FilesystemException("MFT record " + number + ": bad runlist");
      }
      long runLength = signed(r, pairs + 1, lenSize);
      if (runLength <= 0) {
        throw new FilesystemException("MFT record " + number + ": bad run length");
      }
      if (offSize == 0) {
        runs.add(new Run(-1, runLength));
      } else {
        lcn += signed(r, pairs + 1 + lenSize, offSize);
        if (lcn < 0) {
          throw new FilesystemException("MFT record " + number + ": run before cluster 0");
        }
        runs.add(new Run(lcn, runLength));
      }
      pairs += 1 + lenSize + offSize;
    }
    if (dataSize < 0 || initialized < 0 || initialized > dataSize) {
      throw new FilesystemException("MFT record " + number + ": bad $DATA sizes");
    }
    return new Attribute(true, dataSize, 0, dataSize, initialized, runs);
  }

  /** A little-endian signed integer of {@code n} bytes. */
  private static long signed(ByteBuffer r, int at, int n) {
    long v = 0;
    for (int i = n - 1; i >= 0; i--) {
      v = (v << 8) | (r.get(at + i) & 0xff);
    }
    int shift = 64 - 8 * n;
    return (v << shift) >> shift;
  }
}
