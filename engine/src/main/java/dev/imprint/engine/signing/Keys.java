package dev.imprint.engine.signing;

import dev.imprint.engine.image.Signature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Ed25519 keys for signing images (the JDK implements Ed25519). Keys are stored as PEM: PKCS#8 for
 * the private key, X.509 SubjectPublicKeyInfo for the public one.
 */
public final class Keys {
  /** What is signed: a fixed context string, then the 32-byte image digest. */
  public static final byte[] CONTEXT =
      "imprint-image-digest-v1\0".getBytes(StandardCharsets.US_ASCII);

  /** The fixed DER prefix of an X.509 Ed25519 public key; the raw 32 key bytes follow. */
  private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  private Keys() {}

  public static KeyPair generate() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes KEY (private, mode 600) and KEY.pub. */
  public static void save(KeyPair pair, Path privateFile) throws IOException {
    Path pub = publicFileFor(privateFile);
    if (Files.exists(privateFile)) {
      throw new IOException(privateFile + " already exists: choose another name or remove it");
    }
    Files.writeString(
        privateFile, pem("PRIVATE KEY", pair.getPrivate().getEncoded()), StandardCharsets.US_ASCII);
    try {
      Files.setPosixFilePermissions(privateFile, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException ignored) {
      // Not a POSIX filesystem: nothing more we can do.
    }
    Files.writeString(pub, pem("PUBLIC KEY", pair.getPublic().getEncoded()));
  }

  public static Path publicFileFor(Path privateFile) {
    return privateFile.resolveSibling(privateFile.getFileName() + ".pub");
  }

  public static PrivateKey loadPrivate(Path file) throws IOException {
    byte[] der = readPem(file, "PRIVATE KEY");
    try {
      return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new IOException(file + " is not an Ed25519 private key: make one with imprint keygen");
    }
  }

  public static PublicKey loadPublic(Path file) throws IOException {
    byte[] der = readPem(file, "PUBLIC KEY");
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new IOException(file + " is not an Ed25519 public key: give the KEY.pub of keygen");
    }
  }

  /** The public half of a private key, recomputed from the key file's PKCS#8 encoding. */
  public static byte[] rawPublic(PublicKey key) {
    byte[] enc = key.getEncoded();
    return Arrays.copyOfRange(enc, enc.length - 32, enc.length);
  }

  public static PublicKey fromRaw(byte[] raw) throws GeneralSecurityException {
    byte[] der = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + 32);
    System.arraycopy(raw, 0, der, X509_PREFIX.length, 32);
    return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
  }

  /** A short, stable name for a key: the first 16 bytes of SHA-256 of its raw bytes, in hex. */
  public static String fingerprint(byte[] rawPublic) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(rawPublic);
      return "ed25519:" + HexFormat.of().formatHex(h, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Signature sign(PrivateKey key, PublicKey pub, byte[] digest) {
    try {
      java.security.Signature s = java.security.Signature.getInstance("Ed25519");
      s.initSign(key);
      s.update(CONTEXT);
      s.update(digest);
      return new Signature(Signature.ED25519, rawPublic(pub), s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static boolean verify(Signature sig, byte[] digest) {
    if (sig.algorithm() != Signature.ED25519) {
      return false;
    }
    try {
      java.security.Signature s = java.security.Signature.getInstance("Ed25519");
      s.initVerify(fromRaw(sig.publicKey()));
      s.update(CONTEXT);
      s.update(digest);
      return s.verify(sig.signature());
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Derives the public key of a private key by signing nothing: Ed25519 keys carry it. */
  public static PublicKey publicOf(Path privateFile) throws IOException {
    Path pub = publicFileFor(privateFile);
    if (Files.exists(pub)) {
      return loadPublic(pub);
    }
    throw new IOException(
        "public key " + pub + " is missing: keep KEY.pub next to KEY (imprint keygen writes both)");
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private static byte[] readPem(Path file, String type) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new IOException("key file " + file + " does not exist: check the path");
    }
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    if (b < 0 || e < b) {
      throw new IOException(
          file + " holds no " + type.toLowerCase() + " (PEM): give a key made by imprint keygen");
    }
    try {
      return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
    } catch (IllegalArgumentException ex) {
      throw new IOException(file + " is not valid PEM: " + ex.getMessage());
    }
  }
}
