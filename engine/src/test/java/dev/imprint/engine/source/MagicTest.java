package dev.imprint.engine.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imprint.engine.source.DecodedDiskTest.Tool;
import dev.imprint.engine.source.Magic.Format;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class MagicTest {
  @ParameterizedTest
  @EnumSource(Tool.class)
  void sniffsWhatEachCliWrites(Tool tool) throws Exception {
    byte[] compressed = tool.compress("a small disk".getBytes(StandardCharsets.US_ASCII));
    assertEquals(tool.format, Magic.sniff(compressed, compressed.length));
    assertEquals(tool.format, Magic.sniff(compressed, Magic.HEAD_LENGTH));
  }

  @Test
  void sniffsAnImprintImage() {
    byte[] head = {'I', 'M', 'P', 'R', 'I', 'N', 'T', 0, 1, 0};
    assertEquals(Format.IMPRINT, Magic.sniff(head, head.length));
    // Without the NUL it is just bytes on a disk.
    assertEquals(Format.RAW, Magic.sniff(head, 7));
  }

  @Test
  void aDamagedImprintMagicIsStillImprint() {
    // One or two bytes changed is a damaged image; three is something else.
    byte[] one = {'I', 'M', 'P', 'R', 'I', 'N', 'T', 1};
    byte[] two = {'I', 'X', 'P', 'R', 'I', 'N', 'T', 1};
    byte[] three = {'I', 'X', 'P', 'R', 'Y', 'N', 'T', 1};
    assertEquals(Format.IMPRINT, Magic.sniff(one, one.length));
    assertEquals(Format.IMPRINT, Magic.sniff(two, two.length));
    assertEquals(Format.RAW, Magic.sniff(three, three.length));
  }

  @Test
  void zstdSkippableFrameCountsAsZstd() {
    byte[] head = {0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0};
    assertEquals(Format.ZSTD, Magic.sniff(head, head.length));
  }

  @Test
  void anythingElseIsRaw() {
    assertEquals(Format.RAW, Magic.sniff(new byte[0], 0));
    assertEquals(Format.RAW, Magic.sniff(new byte[512], 512));
    // An MBR boot sector starts with a jump, not a magic.
    byte[] mbr = {(byte) 0xeb, 0x63, (byte) 0x90, 0x10, (byte) 0x8e, (byte) 0xd0};
    assertEquals(Format.RAW, Magic.sniff(mbr, mbr.length));
    // Too short to be sure, or a gzip magic without the deflate method byte.
    assertEquals(Format.RAW, Magic.sniff(new byte[] {(byte) 0xfd, '7', 'z'}, 3));
    assertEquals(Format.RAW, Magic.sniff(new byte[] {0x1f, (byte) 0x8b, 0}, 3));
    assertEquals(Format.RAW, Magic.sniff(new byte[] {'B', 'Z', 'h', '0'}, 4));
  }

  @Test
  void looksOnlyAtTheFirstLenBytes() {
    byte[] xz = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0, 0, 4};
    assertEquals(Format.XZ, Magic.sniff(xz, 6));
    assertEquals(Format.RAW, Magic.sniff(xz, 5));
  }
}
