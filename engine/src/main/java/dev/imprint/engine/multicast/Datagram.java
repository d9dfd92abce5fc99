package dev.imprint.engine.multicast;

import java.nio.ByteBuffer;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;

/**
 * The datagram of the multicast data stream (docs/PROTOCOL.md, "Multicast data stream"): a 36-byte
 * big-endian header, one symbol, and a 16-byte MAC (HMAC-SHA256 of header and symbol under the
 * session's secret, truncated). Field accessors read a datagram in place (position 0); one instance
 * holds a keyed MAC and is used by one thread.
 */
public final class Datagram {
  public static final int MAGIC = 0x494D; // "IM"
  public static final int VERSION = 1;
  public static final int KIND_SYMBOL = 1;
  public static final int HEADER = 36;
  public static final int MAC_LENGTH = 16;
  public static final int OVERHEAD = HEADER + MAC_LENGTH;

  static final int AT_SESSION = 4;
  static final int AT_DIGEST = 12;
  static final int AT_SEQUENCE = 20;
  static final int AT_LOOP = 24;
  static final int AT_BLOCK = 28;
  static final int AT_SIZE = 32;
  static final int AT_K = 34;
  static final int AT_INDEX = 35;

  private final Mac mac;
  private final byte[] tag = new byte[32];

  public Datagram(SessionKeys keys) {
    try {
      mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(keys.macSecret(), "HmacSHA256"));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("the JDK has no HMAC-SHA256", e);
    }
  }

  /** Bytes of a datagram carrying a symbol of {@code symbolSize} bytes. */
  public static int length(int symbolSize) {
    return OVERHEAD + symbolSize;
  }

  /**
   * Writes a datagram's header into {@code b} at 0; the symbol goes at {@link #HEADER}, then {@link
   * #seal} adds the MAC.
   */
  public static void header(
      ByteBuffer b,
      SessionKeys keys,
      int sequence,
      int loop,
      int block,
      int k,
      int index,
      int symbolSize) {
    b.putShort(0, (short) MAGIC)
        .put(2, (byte) VERSION)
        .put(3, (byte) KIND_SYMBOL)
        .putLong(AT_SESSION, keys.sessionId())
        .putLong(AT_DIGEST, keys.digestPrefix())
        .putInt(AT_SEQUENCE, sequence)
        .putInt(AT_LOOP, loop)
        .putInt(AT_BLOCK, block)
        .putShort(AT_SIZE, (short) symbolSize)
        .put(AT_K, (byte) k)
        .put(AT_INDEX, (byte) index);
  }

  /** Computes the MAC over the header and symbol and writes it after them; limit = length. */
  public void seal(ByteBuffer b, int symbolSize) {
    int end = HEADER + symbolSize;
    mac.update(b.duplicate().position(0).limit(end));
    try {
      mac.doFinal(tag, 0);
    } catch (ShortBufferException e) {
      throw new IllegalStateException(e);
    }
    b.put(end, tag, 0, MAC_LENGTH);
    b.position(0).limit(end + MAC_LENGTH);
  }

  /**
   * Whether {@code b} (position 0 to limit) is this session's and image's datagram of this version
   * by its header alone: what a receiver asks before any other work.
   */
  public static boolean belongsTo(ByteBuffer b, SessionKeys keys) {
    return b.limit() > OVERHEAD
        && (b.getShort(0) & 0xffff) == MAGIC
        && b.get(2) == VERSION
        && b.get(3) == KIND_SYMBOL
        && b.getLong(AT_SESSION) == keys.sessionId()
        && b.getLong(AT_DIGEST) == keys.digestPrefix();
  }

  /** Whether the MAC at the end of {@code b} (position 0 to limit) is right; constant time. */
  public boolean verify(ByteBuffer b) {
    int end = b.limit() - MAC_LENGTH;
    if (end < HEADER) {
      return false;
    }
    mac.update(b.duplicate().position(0).limit(end));
    try {
      mac.doFinal(tag, 0);
    } catch (ShortBufferException e) {
      throw new IllegalStateException(e);
    }
    int diff = 0;
    for (int i = 0; i < MAC_LENGTH; i++) {
      diff |= tag[i] ^ b.get(end + i);
    }
    return diff == 0;
  }

  public static int sequence(ByteBuffer b) {
    return b.getInt(AT_SEQUENCE);
  }

  public static int loop(ByteBuffer b) {
    return b.getInt(AT_LOOP);
  }

  public static int block(ByteBuffer b) {
    return b.getInt(AT_BLOCK);
  }

  public static int symbolSize(ByteBuffer b) {
    return b.getShort(AT_SIZE) & 0xffff;
  }

  public static int k(ByteBuffer b) {
    return b.get(AT_K) & 0xff;
  }

  public static int index(ByteBuffer b) {
    return b.get(AT_INDEX) & 0xff;
  }
}
