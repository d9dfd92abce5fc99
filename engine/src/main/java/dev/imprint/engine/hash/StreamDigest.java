package dev.imprint.engine.hash;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A digest fed piece by piece (a bmap range spread over chunks): MD5, SHA-1 or SHA-2. As for {@link
 * Sha256}, direct buffers go to the system's libcrypto when it loads — the JDK's digests run in
 * Java until C2 compiles their intrinsics, which the launcher's C1-only JIT never does (measured
 * here: 48 MB/s for SHA-256 at C1 against 1.4 GB/s in libcrypto); otherwise the JDK's digest.
 */
public final class StreamDigest {
  private static final Logger log = LoggerFactory.getLogger(StreamDigest.class);
  private static final boolean NATIVE = loadNative();
  private static final Cleaner CLEANER = Cleaner.create();

  private final String algorithm;
  private final MessageDigest jdk;
  private final Pointer ctx;
  private final Pointer type;

  private StreamDigest(String algorithm, MessageDigest jdk, Pointer ctx, Pointer type) {
    this.algorithm = algorithm;
    this.jdk = jdk;
    this.ctx = ctx;
    this.type = type;
  }

  /**
   * A digest of {@code algorithm}, by its JDK name ("MD5", "SHA-1", "SHA-256"…).
   *
   * @throws IllegalArgumentException neither libcrypto nor the JDK has it
   */
  public static StreamDigest of(String algorithm) {
    MessageDigest jdk;
    try {
      jdk = MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalArgumentException("no digest " + algorithm, e);
    }
    if (NATIVE) {
      Pointer type = LibCrypto.EVP_get_digestbyname(algorithm.replace("-", ""));
      Pointer ctx = type == null ? null : LibCrypto.EVP_MD_CTX_new();
      if (ctx != null && LibCrypto.EVP_DigestInit_ex(ctx, type, null) == 1) {
        StreamDigest d = new StreamDigest(algorithm, null, ctx, type);
        CLEANER.register(d, () -> LibCrypto.EVP_MD_CTX_free(ctx));
        return d;
      }
      log.debug("{}: libcrypto has no such digest, using the JDK's", algorithm);
    }
    return new StreamDigest(algorithm, jdk, null, null);
  }

  /** Whether direct buffers are hashed by libcrypto (for logs and tests). */
  public boolean isNative() {
    return jdk == null;
  }

  public String algorithm() {
    return algorithm;
  }

  /** Adds {@code data}'s remaining bytes; its position is not moved. */
  public void update(ByteBuffer data) {
    if (jdk != null) {
      jdk.update(data.duplicate());
      return;
    }
    if (!data.isDirect()) {
      ByteBuffer copy = ByteBuffer.allocateDirect(data.remaining()).put(data.duplicate()).flip();
      update(copy);
      return;
    }
    Pointer start = Native.getDirectBufferPointer(data).share(data.position());
    int ok = LibCrypto.EVP_DigestUpdate(ctx, start, new NativeLong(data.remaining()));
    Reference.reachabilityFence(data);
    Reference.reachabilityFence(this);
    if (ok != 1) {
      throw new IllegalStateException("libcrypto EVP_DigestUpdate(" + algorithm + ") failed");
    }
  }

  /** The digest of everything added since the last one; the digest starts over. */
  public byte[] digest() {
    if (jdk != null) {
      return jdk.digest();
    }
    byte[] md = new byte[64];
    int[] len = new int[1];
    if (LibCrypto.EVP_DigestFinal_ex(ctx, md, len) != 1
        || LibCrypto.EVP_DigestInit_ex(ctx, type, null) != 1) {
      throw new IllegalStateException("libcrypto EVP_DigestFinal_ex(" + algorithm + ") failed");
    }
    Reference.reachabilityFence(this);
    return Arrays.copyOf(md, len[0]);
  }

  private static boolean loadNative() {
    if (Boolean.getBoolean("imprint.sha256.jdk")) {
      return false;
    }
    for (String name : new String[] {"libcrypto.so.3", "libcrypto.so.1.1", "crypto"}) {
      try {
        Native.register(LibCrypto.class, NativeLibrary.getInstance(name));
        return selfTest();
      } catch (UnsatisfiedLinkError | IllegalStateException e) {
        log.debug("digests: {} not usable: {}", name, e.getMessage());
      }
    }
    return false;
  }

  /** One known digest, fed in two pieces, proves the library works (see {@link Sha256}). */
  private static boolean selfTest() {
    Pointer type = LibCrypto.EVP_get_digestbyname("SHA256");
    Pointer ctx = type == null ? null : LibCrypto.EVP_MD_CTX_new();
    if (ctx == null) {
      return false;
    }
    try {
      ByteBuffer abc = ByteBuffer.allocateDirect(3).put(new byte[] {'a', 'b', 'c'}).flip();
      Pointer p = Native.getDirectBufferPointer(abc);
      byte[] out = new byte[64];
      int[] len = new int[1];
      boolean ok =
          LibCrypto.EVP_DigestInit_ex(ctx, type, null) == 1
              && LibCrypto.EVP_DigestUpdate(ctx, p, new NativeLong(1)) == 1
              && LibCrypto.EVP_DigestUpdate(ctx, p.share(1), new NativeLong(2)) == 1
              && LibCrypto.EVP_DigestFinal_ex(ctx, out, len) == 1;
      return ok && Arrays.equals(Arrays.copyOf(out, len[0]), Sha256.jdk(abc));
    } finally {
      LibCrypto.EVP_MD_CTX_free(ctx);
    }
  }

  /** JNA direct mapping of libcrypto's EVP digest calls (OpenSSL 1.1 and 3). */
  private static final class LibCrypto {
    static native Pointer EVP_get_digestbyname(String name);

    static native Pointer EVP_MD_CTX_new();

    static native void EVP_MD_CTX_free(Pointer ctx);

    static native int EVP_DigestInit_ex(Pointer ctx, Pointer type, Pointer engine);

    static native int EVP_DigestUpdate(Pointer ctx, Pointer data, NativeLong count);

    static native int EVP_DigestFinal_ex(Pointer ctx, byte[] md, int[] size);
  }
}
