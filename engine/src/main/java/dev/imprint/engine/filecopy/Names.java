package dev.imprint.engine.filecopy;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * File names as the kernel has them, bytes: NUL-terminated for system calls, and shown to people as
 * UTF-8 where they are valid UTF-8 and with {@code \xNN} for each byte where they aren't.
 */
final class Names {
  static final byte[] EMPTY = {0};

  private Names() {}

  /** {@code name} with the NUL a system call needs. */
  static byte[] c(byte[] name) {
    byte[] c = Arrays.copyOf(name, name.length + 1);
    return c;
  }

  static byte[] c(String ascii) {
    return c(ascii.getBytes(StandardCharsets.UTF_8));
  }

  /** The bytes of a NUL-terminated name, without the NUL. */
  static byte[] plain(byte[] cName) {
    return Arrays.copyOf(cName, cName.length - 1);
  }

  /** A name (without NUL) for people: exact when it is UTF-8, escaped byte by byte when not. */
  static String show(byte[] name) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(name))
          .toString();
    } catch (CharacterCodingException e) {
      StringBuilder s = new StringBuilder();
      for (byte b : name) {
        if (b >= 0x20 && b < 0x7f && b != '\\') {
          s.append((char) b);
        } else {
          s.append(String.format("\\x%02x", b & 0xff));
        }
      }
      return s.toString();
    }
  }

  /** {@code a/b} of two plain names. */
  static byte[] join(byte[] a, byte[] b) {
    if (a.length == 0) {
      return b;
    }
    byte[] j = Arrays.copyOf(a, a.length + 1 + b.length);
    j[a.length] = '/';
    System.arraycopy(b, 0, j, a.length + 1, b.length);
    return j;
  }
}
