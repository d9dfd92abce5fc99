package dev.imprint.engine.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Seeded random bytes and file hashes for tests: the same seed gives the same bytes. */
public final class TestData {
  private static final int MIB = 1 << 20;

  private TestData() {}

  public static byte[] random(long size, long seed) {
    byte[] b = new byte[Math.toIntExact(size)];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  /** Writes a new file of {@code size} random bytes, a MiB at a time. */
  public static Path randomFile(Path p, long size, long seed) throws IOException {
    SplittableRandom rnd = new SplittableRandom(seed);
    ByteBuffer buf = ByteBuffer.allocate(MIB);
    try (FileChannel ch =
        FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long done = 0; done < size; done += MIB) {
        buf.clear();
        while (buf.hasRemaining()) {
          buf.putLong(rnd.nextLong());
        }
        buf.flip();
        buf.limit((int) Math.min(MIB, size - done));
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
    }
    return p;
  }

  /** Sets a file's length (sparse when it grows). */
  public static void setLength(Path p, long size) throws IOException {
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(size);
    }
  }

  /** Writes all of {@code part} into {@code disk} at {@code offset}, as dd conv=notrunc does. */
  public static void copyInto(Path part, Path disk, long offset) throws IOException {
    try (java.io.RandomAccessFile d = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
      d.seek(offset);
      d.write(java.nio.file.Files.readAllBytes(part));
    }
  }

  /** Hex SHA-256 of the whole file. */
  public static String sha256(Path p) throws IOException {
    return sha256(p, 0, Long.MAX_VALUE);
  }

  /** Hex SHA-256 of {@code length} bytes of {@code p} from {@code offset} (fewer at its end). */
  public static String sha256(Path p, long offset, long length) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    ByteBuffer buf = ByteBuffer.allocate(MIB);
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      long pos = 0;
      while (pos < length) {
        buf.clear();
        buf.limit((int) Math.min(MIB, length - pos));
        int n = ch.read(buf, offset + pos);
        if (n < 0) {
          break;
        }
        buf.flip();
        md.update(buf);
        pos += n;
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
