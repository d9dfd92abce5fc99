package dev.imprint.engine.image;

/** One signature over the image digest: algorithm 1 is Ed25519 with a raw 32-byte key. */
public record Signature(int algorithm, byte[] publicKey, byte[] signature) {
  public static final int ED25519 = 1;
  static final int LENGTH = 100;
}
