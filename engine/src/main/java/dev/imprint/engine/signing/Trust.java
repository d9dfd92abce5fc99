package dev.imprint.engine.signing;

import dev.imprint.engine.image.ImageMetadata;
import dev.imprint.engine.image.Signature;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.List;

/** Whether an image is signed by a trusted key ({@code --trust}). */
public final class Trust {
  private Trust() {}

  /**
   * Null when one of the image's signatures verifies under one of {@code trusted} (or nothing is
   * required), else the line that says why not and what to do.
   */
  public static String refusal(ImageMetadata md, List<Path> trusted, String where)
      throws IOException {
    if (trusted.isEmpty()) {
      return null;
    }
    if (md.signatures().isEmpty()) {
      return where + " is not signed, but --trust requires a signature: sign it with imprint sign";
    }
    for (Path t : trusted) {
      PublicKey k = Keys.loadPublic(t);
      byte[] raw = Keys.rawPublic(k);
      for (Signature s : md.signatures()) {
        if (Arrays.equals(s.publicKey(), raw) && Keys.verify(s, md.digest())) {
          return null;
        }
      }
    }
    StringBuilder signers = new StringBuilder();
    for (Signature s : md.signatures()) {
      signers.append(signers.length() == 0 ? "" : ", ").append(Keys.fingerprint(s.publicKey()));
    }
    return where
        + " is signed by "
        + signers
        + ", which is not a trusted key (or the signature is bad): restore only images you"
        + " trust, or pass the signer's KEY.pub with --trust";
  }
}
