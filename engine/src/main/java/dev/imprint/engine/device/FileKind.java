package dev.imprint.engine.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What a path names, as stat(2) tells it (symlinks followed): the one place that asks. Java has no
 * portable name for devices and pipes, so this reads the file type bits of {@code st_mode}.
 */
public enum FileKind {
  /** Nothing there (or a symlink to nothing). */
  MISSING,
  REGULAR_FILE,
  DIRECTORY,
  BLOCK_DEVICE,
  CHARACTER_DEVICE,
  /** A named pipe (FIFO). */
  PIPE,
  /** A socket, or a type this reader doesn't know. */
  OTHER;

  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFDIR = 0040000;
  private static final int S_IFBLK = 0060000;
  private static final int S_IFCHR = 0020000;
  private static final int S_IFIFO = 0010000;

  /**
   * The kind of {@code path}.
   *
   * @throws IOException when it cannot be looked at (e.g. {@link
   *     java.nio.file.AccessDeniedException} for a folder above it that may not be searched)
   */
  public static FileKind of(Path path) throws IOException {
    int mode;
    try {
      mode = (Integer) Files.getAttribute(path, "unix:mode");
    } catch (NoSuchFileException e) {
      return MISSING;
    }
    return ofMode(mode);
  }

  /** As {@link #of}, with {@link #OTHER} when the path cannot be looked at. */
  public static FileKind probe(Path path) {
    try {
      return of(path);
    } catch (IOException | RuntimeException e) {
      return OTHER;
    }
  }

  /** The kind that the file type bits of a {@code st_mode} name. */
  public static FileKind ofMode(int mode) {
    return switch (mode & S_IFMT) {
      case S_IFREG -> REGULAR_FILE;
      case S_IFDIR -> DIRECTORY;
      case S_IFBLK -> BLOCK_DEVICE;
      case S_IFCHR -> CHARACTER_DEVICE;
      case S_IFIFO -> PIPE;
      default -> OTHER;
    };
  }

  /** A regular file or a block device: something that can hold a disk. */
  public boolean holdsDisk() {
    return this == REGULAR_FILE || this == BLOCK_DEVICE;
  }
}
