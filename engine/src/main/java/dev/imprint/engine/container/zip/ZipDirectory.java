package dev.imprint.engine.container.zip;

import static dev.imprint.engine.container.zip.ZipImage.damaged;

import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A zip archive's central directory, read from its end (the end record, zip64 when sizes need it)
 * and checked against the file's size: the names of its files, and the one image when there is
 * exactly one.
 */
final class ZipDirectory {
  private static final long U32 = 0xffffffffL;
  private static final int U16 = 0xffff;
  private static final int CENTRAL_LENGTH = 46;
  private static final int LOCAL_LENGTH = 30;
  private static final int FLAG_ENCRYPTED = 1;
  private static final int FLAG_UTF8 = 1 << 11;

  private final RandomAccessInput in;
  private final String where;
  private final List<String> names = new ArrayList<>();
  private long files;
  private ByteBuffer first;
  private int firstAt;

  private ZipDirectory(RandomAccessInput in, String where) {
    this.in = in;
    this.where = where;
  }

  static ZipDirectory read(RandomAccessInput in, String where) throws IOException {
    ZipDirectory d = new ZipDirectory(in, where);
    d.walk();
    return d;
  }

  private void walk() throws IOException {
    long size = in.size();
    long from = Math.max(0, size - ZipImage.END_LENGTH - ZipImage.MAX_COMMENT);
    ByteBuffer tail = read(from, (int) (size - from));
    int end = -1;
    for (int p = tail.limit() - ZipImage.END_LENGTH; p >= 0; p--) {
      if (tail.getInt(p) == ZipImage.END) {
        end = p;
        break;
      }
    }
    if (end < 0) {
      throw damaged(where, "it has no end of central directory record (it may be cut short)");
    }
    long count = Short.toUnsignedInt(tail.getShort(end + 10));
    long dirSize = Integer.toUnsignedLong(tail.getInt(end + 12));
    long dirOffset = Integer.toUnsignedLong(tail.getInt(end + 16));
    long dirEnd = from + end;
    if (end >= 20 && tail.getInt(end - 20) == ZipImage.END64_LOCATOR) {
      long at = tail.getLong(end - 20 + 8);
      if (at < 0 || at > dirEnd - 56) {
        throw damaged(where, "its zip64 end record offset " + at + " lies outside the archive");
      }
      ByteBuffer z = read(at, 56);
      if (z.getInt(0) != ZipImage.END64) {
        throw damaged(where, "no zip64 end record where its locator points (" + at + ")");
      }
      count = z.getLong(32);
      dirSize = z.getLong(40);
      dirOffset = z.getLong(48);
      dirEnd = at;
    } else if (count == U16 || dirSize == U32 || dirOffset == U32) {
      throw damaged(where, "its sizes need zip64 records, which it lacks");
    }
    if (dirOffset < 0 || dirSize < 0 || dirOffset > dirEnd || dirSize > dirEnd - dirOffset) {
      throw damaged(
          where,
          "its central directory ("
              + dirSize
              + " bytes at "
              + dirOffset
              + ") does not lie before its end record at "
              + dirEnd);
    }
    if (count < 0 || count > dirSize / CENTRAL_LENGTH) {
      throw damaged(
          where, "it counts " + count + " files, more than its directory of " + dirSize + " holds");
    }
    if (dirSize > ZipImage.MAX_DIRECTORY) {
      throw new ContainerRefusedException(
          where
              + " is a zip archive of "
              + count
              + " files, not of one image: unzip it and give the image file");
    }
    ByteBuffer dir = read(dirOffset, (int) dirSize);
    int p = 0;
    for (long i = 0; i < count; i++) {
      if (p > dir.limit() - CENTRAL_LENGTH || dir.getInt(p) != ZipImage.CENTRAL) {
        throw damaged(
            where,
            "central directory entry "
                + i
                + " (at byte "
                + (dirOffset + p)
                + ")"
                + " has no signature");
      }
      int nameLength = Short.toUnsignedInt(dir.getShort(p + 28));
      int extraLength = Short.toUnsignedInt(dir.getShort(p + 30));
      int commentLength = Short.toUnsignedInt(dir.getShort(p + 32));
      int next = p + CENTRAL_LENGTH + nameLength + extraLength + commentLength;
      if (next > dir.limit()) {
        throw damaged(where, "central directory entry " + i + " runs past the directory's end");
      }
      boolean utf8 = (dir.getShort(p + 8) & FLAG_UTF8) != 0;
      String name = ZipImage.name(dir, p + CENTRAL_LENGTH, nameLength, utf8);
      if (!name.endsWith("/")) {
        if (files == 0) {
          first = dir;
          firstAt = p;
        }
        files++;
        if (names.size() < 11) {
          names.add(name);
        }
      }
      p = next;
    }
  }

  /** The one file, checked against its local header. */
  ZipImage single() throws IOException {
    if (files != 1) {
      throw ZipImage.notOneImage(where, names, files);
    }
    ByteBuffer d = first;
    int p = firstAt;
    String name = names.get(0);
    int flags = Short.toUnsignedInt(d.getShort(p + 8));
    int method = Short.toUnsignedInt(d.getShort(p + 10));
    int crc = d.getInt(p + 16);
    long compressed = Integer.toUnsignedLong(d.getInt(p + 20));
    long size = Integer.toUnsignedLong(d.getInt(p + 24));
    int nameLength = Short.toUnsignedInt(d.getShort(p + 28));
    int extraLength = Short.toUnsignedInt(d.getShort(p + 30));
    long local = Integer.toUnsignedLong(d.getInt(p + 42));
    // Zip64: the extra field holds, in this order, each of these that is 0xffffffff above.
    int extra = p + CENTRAL_LENGTH + nameLength;
    for (int e = extra; e + 4 <= extra + extraLength; ) {
      int id = Short.toUnsignedInt(d.getShort(e));
      int len = Short.toUnsignedInt(d.getShort(e + 2));
      if (id == 1) {
        int v = e + 4;
        int stop = Math.min(v + len, extra + extraLength);
        if (size == U32 && v + 8 <= stop) {
          size = d.getLong(v);
          v += 8;
        }
        if (compressed == U32 && v + 8 <= stop) {
          compressed = d.getLong(v);
          v += 8;
        }
        if (local == U32 && v + 8 <= stop) {
          local = d.getLong(v);
        }
      }
      e += 4 + len;
    }
    if ((flags & FLAG_ENCRYPTED) != 0) {
      throw new ContainerRefusedException(
          where + " holds " + name + " encrypted: unzip it with its password first");
    }
    if (method != ZipImage.STORED && method != ZipImage.DEFLATED) {
      throw new ContainerRefusedException(
          where
              + " holds "
              + name
              + " compressed with zip method "
              + method
              + ", which Imprint does not read (it reads stored and deflated): unzip it first");
    }
    if (size < 0 || compressed < 0 || local < 0 || local > in.size() - LOCAL_LENGTH) {
      throw damaged(where, name + "'s sizes or offset are out of range");
    }
    if (method == ZipImage.STORED && compressed != size) {
      throw damaged(
          where, name + " is stored but its sizes differ (" + compressed + " and " + size + ")");
    }
    ByteBuffer h = read(local, LOCAL_LENGTH);
    if (h.getInt(0) != ZipImage.LOCAL) {
      throw damaged(where, name + "'s local header (at byte " + local + ") has no signature");
    }
    long data =
        local
            + LOCAL_LENGTH
            + Short.toUnsignedInt(h.getShort(26))
            + Short.toUnsignedInt(h.getShort(28));
    if (compressed > in.size() - data) {
      throw damaged(
          where,
          name
              + "'s "
              + compressed
              + " bytes from byte "
              + data
              + " run past the archive's end ("
              + in.size()
              + ")");
    }
    return new ZipImage(where, name, method, data, compressed, size, crc);
  }

  private ByteBuffer read(long at, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    in.readFully(b, at);
    return b.flip();
  }
}
