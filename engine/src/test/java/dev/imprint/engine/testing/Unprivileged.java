package dev.imprint.engine.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs a main class in a child JVM as the unprivileged user nobody (65534), so a test of what an
 * ordinary user sees (permission denied) runs as root too. Root drops its privileges with setpriv;
 * an ordinary user simply runs the child.
 */
public final class Unprivileged {
  public static final int NOBODY = 65534;

  private static String classpath;
  private static Path home;

  private Unprivileged() {}

  /** Runs {@code main} with {@code args} as nobody and returns what it did. */
  public static Cmd.Result run(Class<?> main, String... args) {
    List<String> argv = new ArrayList<>();
    if (Root.isRoot()) {
      Root.assumeCommands("setpriv");
      argv.addAll(
          List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--"));
    }
    // A clean environment with a home nobody can write (its own, /nonexistent, is not there).
    argv.addAll(
        List.of("env", "-i", "HOME=" + home(), "PATH=" + System.getenv().getOrDefault("PATH", "")));
    argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    argv.add("-Djava.io.tmpdir=/tmp");
    argv.add("-Duser.home=" + home()); // Java takes it from passwd, not $HOME
    argv.add("-cp");
    argv.add(readableClasspath());
    argv.add(main.getName());
    argv.addAll(List.of(args));
    return Cmd.result(argv.toArray(String[]::new));
  }

  /**
   * Makes {@code dir} and its parents up to /tmp open to every user, so nobody reaches the files a
   * test puts there (and meets only the permissions the test sets on them).
   */
  public static Path openToAll(Path dir) throws IOException {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
    if (!dir.toAbsolutePath().startsWith(tmp)) {
      throw new IllegalArgumentException(dir + " is not under " + tmp);
    }
    // The temporary directory itself keeps its mode (and sticky bit).
    for (Path p = dir.toAbsolutePath(); !p.equals(tmp); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
    }
    return dir;
  }

  private static synchronized Path home() {
    readableClasspath();
    return home;
  }

  /**
   * The test classpath copied where nobody can read it: the build's own copies live under
   * directories (a home, a clone) that an unprivileged user may not enter.
   */
  private static synchronized String readableClasspath() {
    if (classpath == null) {
      try {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "imprint-cp-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
          Path from = Path.of(e);
          if (!Files.exists(from)) {
            continue;
          }
          Path to = dir.resolve(i++ + "-" + from.getFileName());
          copy(from, to);
          entries.add(to.toString());
        }
        try (Stream<Path> all = Files.walk(dir)) {
          for (Path p : (Iterable<Path>) all::iterator) {
            Files.setPosixFilePermissions(
                p,
                PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
          }
        }
        home = Files.createDirectory(dir.resolve("home"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
        classpath = String.join(File.pathSeparator, entries);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return classpath;
  }

  private static void copy(Path from, Path to) throws IOException {
    if (!Files.isDirectory(from)) {
      Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
      return;
    }
    Files.walkFileTree(
        from,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a)
              throws IOException {
            Files.createDirectories(to.resolve(from.relativize(d)));
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
            Files.copy(f, to.resolve(from.relativize(f)));
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private static void delete(Path dir) {
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Left in /tmp: harmless.
    }
  }
}
