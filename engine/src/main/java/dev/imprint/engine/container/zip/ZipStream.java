package dev.imprint.engine.container.zip;

import dev.imprint.engine.container.ContainerRefusedException;
import dev.imprint.engine.image.ImageDamagedException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;

/**
 * A zip archive arriving as a stream (a pipe, a GET without ranges): its first file is inflated as
 * it arrives, with the size and CRC32 its headers give checked at its end; a second file, seen only
 * then, fails the stream before its last bytes are handed out.
 */
final class ZipStream extends BulkInput {
  private final String where;
  private final ZipInputStream zip;
  private final String name;
  private boolean ended;

  private ZipStream(String where, ZipInputStream zip, String name) {
    this.where = where;
    this.zip = zip;
    this.name = name;
  }

  static InputStream open(String where, InputStream in) throws IOException {
    ZipInputStream zip = new ZipInputStream(in);
    try {
      ZipEntry first = nextFile(where, zip);
      if (first == null) {
        throw ZipImage.notOneImage(where, List.of(), 0);
      }
      return new ZipStream(where, zip, first.getName());
    } catch (IOException | RuntimeException e) {
      zip.close();
      throw e;
    }
  }

  private static ZipEntry nextFile(String where, ZipInputStream zip) throws IOException {
    try {
      for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
        if (!e.isDirectory()) {
          return e;
        }
      }
      return null;
    } catch (ZipException e) {
      // Encryption and methods other than stored and deflated are refused here too.
      throw new ContainerRefusedException(
          where
              + " is a zip archive Imprint cannot read as a stream ("
              + e.getMessage()
              + ")"
              + ": unzip it first");
    }
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (ended) {
      return -1;
    }
    int n;
    try {
      n = zip.read(b, off, len);
    } catch (ZipException | java.io.EOFException e) {
      throw new ImageDamagedException(
          name + " in " + where + ": " + e.getMessage() + ": the zip archive is damaged");
    }
    if (n < 0) {
      ended = true;
      ZipEntry second = nextFile(where, zip);
      if (second != null) {
        throw ZipImage.notOneImage(where, List.of(name, second.getName()), -1);
      }
    }
    return n;
  }

  @Override
  public void close() throws IOException {
    zip.close();
  }
}
