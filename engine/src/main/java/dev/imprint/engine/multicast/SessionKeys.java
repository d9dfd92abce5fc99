package dev.imprint.engine.multicast;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * What ties a datagram to one run of one image: the session id, the image digest (its first 8 bytes
 * travel in every datagram) and the secret that keys every datagram's MAC. The server makes them at
 * start ({@link #generate}); a client learns them in the handshake.
 */
public record SessionKeys(long sessionId, byte[] imageDigest, byte[] macSecret) {
  public static final int SECRET_LENGTH = 32;

  public SessionKeys {
    if (imageDigest.length < 8) {
      throw new IllegalArgumentException("an image digest has at least 8 bytes");
    }
    if (macSecret.length < 16) {
      throw new IllegalArgumentException("a MAC secret has at least 16 bytes");
    }
    imageDigest = imageDigest.clone();
    macSecret = macSecret.clone();
  }

  /** A fresh session for {@code imageDigest}: random id and secret. */
  public static SessionKeys generate(byte[] imageDigest) {
    SecureRandom r = new SecureRandom();
    byte[] secret = new byte[SECRET_LENGTH];
    r.nextBytes(secret);
    return new SessionKeys(r.nextLong(), imageDigest, secret);
  }

  /** The image digest's first 8 bytes, big-endian, as datagrams carry them. */
  public long digestPrefix() {
    return ByteBuffer.wrap(imageDigest).getLong(0);
  }

  @Override
  public byte[] imageDigest() {
    return imageDigest.clone();
  }

  @Override
  public byte[] macSecret() {
    return macSecret.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SessionKeys k
        && k.sessionId == sessionId
        && Arrays.equals(k.imageDigest, imageDigest)
        && Arrays.equals(k.macSecret, macSecret);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(sessionId) * 31 + Arrays.hashCode(imageDigest);
  }

  @Override
  public String toString() {
    return "SessionKeys[session=" + Long.toHexString(sessionId) + "]";
  }
}
