package dev.imprint.engine.multicast;

import dev.imprint.engine.image.ImageFormatException;
import dev.imprint.engine.image.IndexEntry;
import dev.imprint.engine.image.IndexTable;
import dev.imprint.engine.image.RangeKind;
import java.util.Arrays;

/**
 * How an image's stored chunks become symbols and FEC blocks, computed the same way by sender and
 * receiver from the index and {@link StreamParams} (docs/PROTOCOL.md, "Layout"). The DATA entries,
 * in index order, are the stream's chunks; chunk c's stored bytes fill symbols from {@code
 * firstSymbol(c)}, the last one padded with zeros; the symbols are cut into blocks of nearly equal
 * size (k differs by at most one), none larger than {@code blockSymbols}. Immutable.
 */
public final class StreamLayout {
  private final int symbolSize;
  private final int[] entry;
  private final int[] stored;
  private final int[] first; // first symbol of chunk c; first[chunks] = total symbols
  private final int blocks;
  private final int base;
  private final int extra;
  private final long storedBytes;

  private StreamLayout(int symbolSize, int[] entry, int[] stored, int[] first, int maxK) {
    this.symbolSize = symbolSize;
    this.entry = entry;
    this.stored = stored;
    this.first = first;
    int symbols = first[first.length - 1];
    this.blocks = symbols == 0 ? 0 : (symbols + maxK - 1) / maxK;
    this.base = blocks == 0 ? 0 : symbols / blocks;
    this.extra = blocks == 0 ? 0 : symbols % blocks;
    long sum = 0;
    for (int s : stored) {
      sum += s;
    }
    this.storedBytes = sum;
  }

  /** The layout of {@code index}'s DATA chunks under {@code params}. */
  public static StreamLayout of(IndexTable index, StreamParams params) throws ImageFormatException {
    int s = params.symbolSize();
    int n = 0;
    int[] entry = new int[16];
    int[] stored = new int[16];
    for (int i = 0; i < index.size(); i++) {
      IndexEntry e = index.entry(i);
      if (e.kind() != RangeKind.DATA) {
        continue;
      }
      if (n == entry.length) {
        entry = Arrays.copyOf(entry, n * 2);
        stored = Arrays.copyOf(stored, n * 2);
      }
      entry[n] = i;
      stored[n] = e.storedLength();
      n++;
    }
    int[] first = new int[n + 1];
    long at = 0;
    for (int c = 0; c < n; c++) {
      first[c] = (int) at;
      at += (stored[c] + s - 1) / s;
      if (at > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "the image needs more than 2^31 symbols of " + s + " bytes: use larger symbols");
      }
    }
    first[n] = (int) at;
    return new StreamLayout(
        s, Arrays.copyOf(entry, n), Arrays.copyOf(stored, n), first, params.blockSymbols());
  }

  public int symbolSize() {
    return symbolSize;
  }

  /** DATA chunks carried. */
  public int chunks() {
    return entry.length;
  }

  /** The index entry number of chunk {@code c}. */
  public int entryNumber(int c) {
    return entry[c];
  }

  /** The chunk carried for index entry {@code entryNumber}, or -1 if it is not a DATA entry. */
  public int chunkOfEntry(int entryNumber) {
    int c = Arrays.binarySearch(entry, entryNumber);
    return c >= 0 ? c : -1;
  }

  public int storedLength(int c) {
    return stored[c];
  }

  public int firstSymbol(int c) {
    return first[c];
  }

  /** Symbols of chunk {@code c}. */
  public int symbolsOf(int c) {
    return first[c + 1] - first[c];
  }

  /** The chunk that symbol {@code s} belongs to. */
  public int chunkOfSymbol(int s) {
    int c = Arrays.binarySearch(first, 0, entry.length, s);
    if (c >= 0) {
      // Empty chunks cannot exist (stored length >= 1), so first[] is strictly increasing.
      return c;
    }
    return -c - 2;
  }

  public int symbols() {
    return first[entry.length];
  }

  public int blocks() {
    return blocks;
  }

  /** Source symbols of block {@code b}. */
  public int blockK(int b) {
    return base + (b < extra ? 1 : 0);
  }

  /** The first symbol of block {@code b}. */
  public int blockStart(int b) {
    return b * base + Math.min(b, extra);
  }

  /** The block that symbol {@code s} belongs to. */
  public int blockOf(int s) {
    int big = extra * (base + 1);
    return s < big ? s / (base + 1) : extra + (s - big) / base;
  }

  /** Bytes of stored chunk data carried (without padding). */
  public long storedBytes() {
    return storedBytes;
  }

  /** The first chunk with a symbol in block {@code b}. */
  public int firstChunkOf(int b) {
    return chunkOfSymbol(blockStart(b));
  }

  /** The last chunk with a symbol in block {@code b}. */
  public int lastChunkOf(int b) {
    return chunkOfSymbol(blockStart(b) + blockK(b) - 1);
  }

  /** The first block holding a symbol of chunk {@code c}. */
  public int firstBlockOf(int c) {
    return blockOf(first[c]);
  }

  /** The last block holding a symbol of chunk {@code c}. */
  public int lastBlockOf(int c) {
    return blockOf(first[c + 1] - 1);
  }
}
