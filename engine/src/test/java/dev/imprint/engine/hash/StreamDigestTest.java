package dev.imprint.engine.hash;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StreamDigestTest {
  @Test
  void piecesDirectOrNotGiveTheJdksDigestAndItStartsOver() throws Exception {
    byte[] data = new byte[3 << 20];
    new SplittableRandom(1).nextBytes(data);
    for (String alg : new String[] {"MD5", "SHA-1", "SHA-256", "SHA-512"}) {
      StreamDigest d = StreamDigest.of(alg);
      // Where libcrypto serves the one-shot SHA-256, it serves these too.
      assertEquals(Sha256.isNative(), d.isNative(), alg);
      for (int round = 0; round < 2; round++) {
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip();
        d.update(direct.duplicate().position(0).limit(1000));
        d.update(ByteBuffer.wrap(data, 1000, 500_000).slice());
        d.update(direct.duplicate().position(501_000).asReadOnlyBuffer());
        assertArrayEquals(MessageDigest.getInstance(alg).digest(data), d.digest(), alg);
      }
    }
  }
}
