package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** picocli's Java 5 class files, rewritten by the build step, verify and run the same. */
class ClassFileUpgradeTest {
  @TempDir Path dir;

  @Test
  void rewritesEveryOldClassSoItVerifiesAndRuns() throws Exception {
    Path picocli =
        Path.of(
            picocli.CommandLine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Path jar = dir.resolve("copy.jar");
    Files.copy(picocli, jar);
    List<String> names = classNames(jar);
    int old = 0;
    for (String n : names) {
      old += ClassFileUpgrade.majorVersion(bytes(jar, n)) < ClassFileUpgrade.FIRST_ARCHIVED ? 1 : 0;
    }
    assertTrue(old > 100, "picocli ships Java 5 class files: " + old);

    assertEquals(old, ClassFileUpgrade.upgrade(jar));
    for (String n : names) {
      assertTrue(
          ClassFileUpgrade.majorVersion(bytes(jar, n)) >= ClassFileUpgrade.FIRST_ARCHIVED, n);
    }
    assertEquals(0, ClassFileUpgrade.upgrade(jar), "a second run has nothing to do");

    // Every rewritten class is linked (so verified by the type-checking verifier, which rejects
    // missing or wrong frames) in a loader of its own, and picocli parses a command line with them.
    ClassLoader own = new OwnFirst(jar, getClass().getClassLoader());
    for (String n : names) {
      String cls = n.substring(0, n.length() - ".class".length()).replace('/', '.');
      if (cls.startsWith("picocli.") && !cls.endsWith("module-info")) {
        assertSame(own, Class.forName(cls, true, own).getClassLoader(), cls);
      }
    }
    Class<?> cl = Class.forName("picocli.CommandLine", true, own);
    Class<?> spec = Class.forName("picocli.CommandLine$Model$CommandSpec", true, own);
    Class<?> option = Class.forName("picocli.CommandLine$Model$OptionSpec", true, own);
    Object s = spec.getMethod("create").invoke(null);
    Object builder =
        option
            .getMethod("builder", String.class, String[].class)
            .invoke(null, "--source", new String[0]);
    java.lang.reflect.Method arity = builder.getClass().getMethod("arity", String.class);
    arity.setAccessible(true); // declared by a package-private superclass
    arity.invoke(builder, "1");
    Object opt = builder.getClass().getMethod("build").invoke(builder);
    spec.getMethod("addOption", option).invoke(s, opt);
    Object line = cl.getConstructor(Object.class).newInstance(s);
    Object result =
        cl.getMethod("parseArgs", String[].class)
            .invoke(line, (Object) new String[] {"--source", "x.img"});
    Object value =
        result
            .getClass()
            .getMethod("matchedOptionValue", String.class, Object.class)
            .invoke(result, "--source", null);
    assertEquals("x.img", value);
  }

  private static List<String> classNames(Path jar) throws IOException {
    List<String> names = new ArrayList<>();
    try (JarFile j = new JarFile(jar.toFile())) {
      for (Enumeration<JarEntry> e = j.entries(); e.hasMoreElements(); ) {
        String n = e.nextElement().getName();
        if (n.endsWith(".class") && !n.startsWith("META-INF/")) {
          names.add(n);
        }
      }
    }
    return names;
  }

  private static byte[] bytes(Path jar, String name) throws IOException {
    try (FileSystem fs = FileSystems.newFileSystem(jar, Map.of())) {
      return Files.readAllBytes(fs.getPath(name));
    }
  }

  /** Defines the jar's classes itself (so they are verified as the JVM would a jar's). */
  private static final class OwnFirst extends ClassLoader {
    private final Path jar;

    OwnFirst(Path jar, ClassLoader parent) {
      super(parent);
      this.jar = jar;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      synchronized (getClassLoadingLock(name)) {
        Class<?> c = findLoadedClass(name);
        if (c == null && name.startsWith("picocli.")) {
          byte[] b;
          try {
            b = bytes(jar, name.replace('.', '/') + ".class");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          c = defineClass(name, b, 0, b.length);
        }
        if (c == null) {
          return super.loadClass(name, resolve);
        }
        if (resolve) {
          resolveClass(c);
        }
        return c;
      }
    }
  }
}
