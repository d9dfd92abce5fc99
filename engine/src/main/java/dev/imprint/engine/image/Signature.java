package dev.imprint.engine.image;

import dev.imprint.engine.signing.Keys;
import java.util.ArrayList;
import java.util.List;

/** One signature over the image digest: algorithm 1 is Ed25519 with a raw 32-byte key. */
public record Signature(int algorithm, byte[] publicKey, byte[] signature) {
  public static final int ED25519 = 1;
  static final int LENGTH = 100;

  /**
   * The signatures of an image that do not verify over its digest (a damaged signature, an image
   * changed after signing, or an algorithm this version cannot check): damage to imagescan, a
   * warning to restore without --trust.
   */
  public static List<Signature> failing(ImageMetadata metadata) {
    List<Signature> bad = new ArrayList<>();
    for (Signature s : metadata.signatures()) {
      if (!Keys.verify(s, metadata.digest())) {
        bad.add(s);
      }
    }
    return bad;
  }
}
