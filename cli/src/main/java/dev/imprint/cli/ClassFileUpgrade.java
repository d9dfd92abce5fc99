package dev.imprint.cli;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Opcodes;

/**
 * Build step (cli/pom.xml, after shading): rewrites the jar's pre-Java-6 class files (picocli ships
 * its classes as Java 5, version 49) as Java 8 class files with stack-map frames, the same code.
 *
 * <p>Why: the JVM's class-data archive skips class files older than version 50 ("Pre JDK 6 class
 * not supported by CDS"), so every start loaded and verified picocli's 175 classes from the jar
 * with the old inference verifier, on the main thread before the command could run (~50-90 ms of a
 * 0.6 s sample restore). Rewritten, they come pre-verified from the archive. ASM is a build-time
 * dependency only ({@code provided}): nothing at run time loads this class.
 */
public final class ClassFileUpgrade {
  /** The first class-file version the archive takes, and the type-checking verifier needs. */
  static final int FIRST_ARCHIVED = Opcodes.V1_6;

  private ClassFileUpgrade() {}

  /** {@code java dev.imprint.cli.ClassFileUpgrade JAR}: rewrites JAR in place. */
  public static void main(String[] args) throws IOException {
    int n = upgrade(Path.of(args[0]));
    System.out.println("ClassFileUpgrade: " + n + " class files rewritten as Java 8");
  }

  /** Rewrites every class file of {@code jar} older than version 50; returns how many. */
  static int upgrade(Path jar) throws IOException {
    int n = 0;
    try (FileSystem fs = FileSystems.newFileSystem(jar)) {
      List<Path> classes;
      try (Stream<Path> all = Files.walk(fs.getPath("/"))) {
        classes =
            all.filter(p -> p.toString().endsWith(".class") && Files.isRegularFile(p))
                .collect(Collectors.toList());
      }
      for (Path p : classes) {
        byte[] old = Files.readAllBytes(p);
        if (old.length < 8 || majorVersion(old) >= FIRST_ARCHIVED) {
          continue;
        }
        Files.write(p, upgrade(old));
        n++;
      }
    }
    return n;
  }

  /** The class-file major version (bytes 6-7, after the magic and the minor version). */
  static int majorVersion(byte[] classFile) {
    return ((classFile[6] & 0xff) << 8) | (classFile[7] & 0xff);
  }

  /**
   * The same class as version 52 with frames computed from the code; the old frames (none) are
   * skipped. The writer is not given the reader: that would copy unchanged methods as they are,
   * without frames.
   */
  static byte[] upgrade(byte[] classFile) {
    ClassReader reader = new ClassReader(classFile);
    ClassWriter writer = new ClassWriter(ClassWriter.COMPUTE_FRAMES);
    reader.accept(
        new ClassVisitor(Opcodes.ASM9, writer) {
          @Override
          public void visit(
              int version,
              int access,
              String name,
              String signature,
              String superName,
              String[] interfaces) {
            super.visit(Opcodes.V1_8, access, name, signature, superName, interfaces);
          }
        },
        ClassReader.SKIP_FRAMES);
    return writer.toByteArray();
  }
}
