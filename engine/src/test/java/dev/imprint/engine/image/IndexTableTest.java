package dev.imprint.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imprint.engine.codec.Codec;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class IndexTableTest {
  private static IndexEntry entry(int i) {
    byte[] sha = new byte[32];
    Arrays.fill(sha, (byte) i);
    return i % 2 == 0
        ? new IndexEntry(RangeKind.DATA, Codec.ZSTD, i * 4096L, 4096, 100L + i * 200L, 150, sha)
        : new IndexEntry(RangeKind.ZERO, Codec.NONE, i * 4096L, 4096, 100L + i * 200L, 0, sha);
  }

  private static void assertSame(IndexEntry want, IndexEntry got) {
    assertEquals(want.kind(), got.kind());
    assertEquals(want.codec(), got.codec());
    assertEquals(want.logicalOffset(), got.logicalOffset());
    assertEquals(want.logicalLength(), got.logicalLength());
    assertEquals(want.recordOffset(), got.recordOffset());
    assertEquals(want.storedLength(), got.storedLength());
    assertArrayEquals(want.sha256(), got.sha256());
  }

  private static byte[] encoded(IndexTable t) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (ByteBuffer b : t.encoded()) {
      byte[] a = new byte[b.remaining()];
      b.get(a);
      out.writeBytes(a);
    }
    return out.toByteArray();
  }

  @Test
  void smallAndSpooledTablesGiveBackWhatWasAdded() {
    // 4 MiB of entries stay on the heap; 100 000 (6.4 MB) go to a temporary file.
    for (int n : new int[] {0, 1, 1000, 100_000}) {
      IndexTable.Builder b = new IndexTable.Builder();
      List<IndexEntry> want = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        b.add(entry(i + 1));
        // The last entry can be replaced until the next one comes (a growing run).
        b.setLast(entry(i));
        want.add(entry(i));
      }
      IndexTable t = b.build();
      assertEquals(n, t.size());
      for (int i = 0; i < n; i++) {
        assertSame(want.get(i), t.get(i));
      }
      byte[] all = ImageMetadata.encodeIndex(want);
      assertArrayEquals(Arrays.copyOfRange(all, 8, all.length), encoded(t));
      IndexTable again = IndexTable.of(ByteBuffer.wrap(all).position(8));
      assertArrayEquals(encoded(t), encoded(again));
    }
  }
}
