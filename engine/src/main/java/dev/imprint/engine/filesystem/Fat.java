package dev.imprint.engine.filesystem;

import static dev.imprint.engine.filesystem.VolumeReads.u16;
import static dev.imprint.engine.filesystem.VolumeReads.u32;
import static dev.imprint.engine.filesystem.VolumeReads.u8;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * FAT12, FAT16 and FAT32: used are the reserved sectors, the FATs, the FAT12/16 root directory and
 * every cluster whose first-FAT entry is non-zero (bad clusters included). The type follows from
 * the cluster count, as the specification says, not from the label in the boot sector.
 */
public final class Fat implements FilesystemReader {
  private static final byte[] NTFS = "NTFS    ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] EXFAT = "EXFAT   ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] FAT = "FAT".getBytes(StandardCharsets.US_ASCII);

  @Override
  public String name() {
    return "vfat";
  }

  /** The boot signature, a jump instruction, and "FAT" in either BPB's file system type field. */
  @Override
  public boolean probe(Volume volume) throws IOException {
    ByteBuffer b = VolumeReads.head(volume, 0, 512);
    if (b == null || u8(b, 510) != 0x55 || u8(b, 511) != 0xAA) {
      return false;
    }
    int jump = u8(b, 0);
    if (!(jump == 0xEB && u8(b, 2) == 0x90) && jump != 0xE9) {
      return false;
    }
    if (VolumeReads.matches(b, 3, NTFS) || VolumeReads.matches(b, 3, EXFAT)) {
      return false;
    }
    return VolumeReads.matches(b, 0x36, FAT) || VolumeReads.matches(b, 0x52, FAT);
  }

  @Override
  public AllocationMap allocation(Volume volume) throws IOException {
    ByteBuffer b = VolumeReads.read(volume, 0, 512, "FAT boot sector");
    int bytesPerSector = u16(b, 0x0B);
    int sectorsPerCluster = u8(b, 0x0D);
    int reserved = u16(b, 0x0E);
    int fats = u8(b, 0x10);
    int rootEntries = u16(b, 0x11);
    long totalSectors = u16(b, 0x13) != 0 ? u16(b, 0x13) : u32(b, 0x20);
    long fatSectors = u16(b, 0x16) != 0 ? u16(b, 0x16) : u32(b, 0x24);
    if (!VolumeReads.isPowerOfTwo(bytesPerSector)
        || bytesPerSector < 512
        || bytesPerSector > 4096) {
      throw new FilesystemException("BPB: " + bytesPerSector + " bytes per sector");
    }
    if (!VolumeReads.isPowerOfTwo(sectorsPerCluster) || sectorsPerCluster > 128) {
      throw new FilesystemException("BPB: " + sectorsPerCluster + " sectors per cluster");
    }
    if (reserved == 0) {
      throw new FilesystemException("BPB: no reserved sectors");
    }
    if (fats < 1 || fats > 2) {
      throw new FilesystemException("BPB: " + fats + " FATs");
    }
    if (fatSectors == 0) {
      throw new FilesystemException("BPB: FAT size is zero");
    }
    if (totalSectors == 0 || totalSectors * bytesPerSector > volume.length()) {
      throw new FilesystemException(
          "BPB: "
              + totalSectors
              + " sectors of "
              + bytesPerSector
              + " bytes do not fit the volume ("
              + volume.length()
              + " bytes)");
    }
    long rootSectors = ((long) rootEntries * 32 + bytesPerSector - 1) / bytesPerSector;
    long dataStart = reserved + fats * fatSectors + rootSectors;
    if (dataStart >= totalSectors) {
      throw new FilesystemException(
          "BPB: the data region starts at sector " + dataStart + ", past the end " + totalSectors);
    }
    long clusters = (totalSectors - dataStart) / sectorsPerCluster;
    int bits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
    if (bits == 32 && (rootEntries != 0 || u16(b, 0x16) != 0)) {
      throw new FilesystemException("BPB: FAT32 with a FAT12/16 root directory or FAT size");
    }
    if (bits != 32 && rootEntries == 0) {
      throw new FilesystemException("BPB: FAT" + bits + " without root directory entries");
    }
    long fatBytes = fatSectors * bytesPerSector;
    long needed = ((clusters + 2) * bits + 7) / 8;
    if (needed > fatBytes) {
      throw new FilesystemException(
          "BPB: a " + fatBytes + "-byte FAT cannot hold " + clusters + " clusters");
    }
    if (needed > Integer.MAX_VALUE - 8) {
      throw new FilesystemException("BPB: FAT of " + needed + " bytes is too large");
    }
    ByteBuffer fat =
        VolumeReads.read(volume, (long) reserved * bytesPerSector, (int) needed, "first FAT");
    // Entry 0 carries the media descriptor in its low byte.
    if (u8(fat, 0) != u8(b, 0x15)) {
      throw new FilesystemException(
          String.format("FAT[0] %02x does not match media byte %02x", u8(fat, 0), u8(b, 0x15)));
    }

    UsedRanges used = new UsedRanges(volume.length());
    used.add(0, dataStart * bytesPerSector);
    long clusterBytes = (long) sectorsPerCluster * bytesPerSector;
    long dataBytes = dataStart * bytesPerSector;
    long inUse = 0;
    for (long c = 2; c < clusters + 2; c++) {
      if (entry(fat, c, bits) != 0) {
        used.add(dataBytes + (c - 2) * clusterBytes, clusterBytes);
        inUse++;
      }
    }
    String how = "FAT" + bits + " table, " + inUse + " of " + clusters + " clusters in use";
    return new AllocationMap("vfat", volume.length(), used.extents(), how);
  }

  private static long entry(ByteBuffer fat, long cluster, int bits) {
    switch (bits) {
      case 12:
        int at = (int) (cluster + cluster / 2);
        int v = u16(fat, at);
        return (cluster & 1) == 0 ? v & 0xFFF : v >>> 4;
      case 16:
        return u16(fat, (int) (cluster * 2));
      default:
        return u32(fat, (int) (cluster * 4)) & 0x0FFFFFFFL;
    }
  }
}
