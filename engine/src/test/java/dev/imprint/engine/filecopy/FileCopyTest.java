package dev.imprint.engine.filecopy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.job.Refusal;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TempMount;
import dev.imprint.engine.testing.Unprivileged;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * File copy onto real ext4 and XFS volumes that already hold conflicting and unrelated items,
 * checked with rsync, getfattr, getfacl and getcap; verification against a byte flipped under the
 * mount and a changed mode; a target user that can't chown.
 */
class FileCopyTest {
  private static ActorSystem system;
  private static Materializer mat;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("filecopy-test");
    mat = Materializer.matFromSystem(system);
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  /** Every kind of item: the tree the tests copy. */
  static final String SOURCE_TREE =
      String.join(
          "\n",
          "set -e",
          "cd \"$1\"",
          ": > empty",
          "printf hello > small.txt",
          "head -c 3145728 /dev/urandom > big.bin",
          "truncate -s 64M sparse.img",
          "printf data | dd of=sparse.img bs=4096 seek=256 conv=notrunc status=none",
          "printf more | dd of=sparse.img bs=4096 seek=10000 conv=notrunc status=none",
          "printf linked > hard1; mkdir sub; ln hard1 sub/hard2; ln hard1 hard3",
          "ln -s /etc/passwd abs_link; ln -s nowhere/at/all dangling; ln -s small.txt rel_link",
          "mkfifo fifo; mknod chr c 1 3; mknod blk b 7 200",
          "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.bind(\"sock\")'",
          "printf x > xattrs.txt; setfattr -n user.color -v blue xattrs.txt",
          "setfattr -n trusted.secret -v s3cr3t xattrs.txt",
          "setfattr -n security.note -v sec xattrs.txt",
          "setfattr -h -n trusted.onlink -v l rel_link",
          "printf '#!/bin/sh\\n' > cap_bin; chmod 755 cap_bin; setcap cap_net_raw+ep cap_bin",
          "printf a > acl.txt; setfacl -m u:1234:rw,g:2345:r acl.txt",
          "mkdir acldir; setfacl -d -m u:1234:rwx acldir; printf in > acldir/inherit",
          "printf o > owned.txt; chown 1234:5678 owned.txt; chmod 4755 owned.txt",
          "chown -h 4321:8765 rel_link",
          "mkdir ro_dir; printf r > ro_dir/f; chmod 555 ro_dir",
          "printf latin > $'caf\\xe9'; printf nl > $'new\\nline'; printf sp > 'sp ace';"
              + " mkdir $'\\xff\\xfe'; printf bin > $'\\xff\\xfe/\\x01odd'",
          "d=.; for i in $(seq 1 30); do d=\"$d/$(printf 'deep%.0s' $(seq 1 24))$i\"; done;"
              + " mkdir -p \"$d\"; printf bottom > \"$d/leaf\"",
          "mkdir conflict_dir; printf in > conflict_dir/inside",
          "printf file > conflict_file",
          "ln -s small.txt link_vs_file",
          "mkdir merged; printf new > merged/a",
          "touch -d '2001-02-03 04:05:06.123456789' small.txt",
          "touch -h -d '2002-03-04 05:06:07.987654321' rel_link",
          "touch -d '2003-01-01 00:00:00.5' merged",
          "");

  /** What the target holds before: conflicts with the source and unrelated items. */
  static final String TARGET_TREE =
      String.join(
          "\n",
          "set -e",
          "cd \"$1\"",
          "printf old > conflict_dir",
          "mkdir -p conflict_file/inner; printf deep > conflict_file/inner/x",
          "printf oldfile > link_vs_file",
          "mkdir merged; printf old > merged/a; printf unrelated > merged/b",
          "printf keep > keep.txt; chmod 640 keep.txt; touch -d '1999-01-01' keep.txt",
          "mkdir keepdir; printf y > keepdir/y",
          "printf older-and-longer > small.txt; chmod 600 small.txt",
          "");

  @ParameterizedTest
  @ValueSource(strings = {"ext4", "xfs"})
  void copiesEveryKindOfItemOntoAVolumeAndKeepsTheRest(String fs) throws Exception {
    Root.assumeRoot();
    Root.assumeCommands(
        "mkfs.ext4",
        "mkfs.xfs",
        "rsync",
        "getfattr",
        "setfattr",
        "getfacl",
        "setfacl",
        "getcap",
        "setcap",
        "filefrag",
        "python3");
    try (Volume src = Volume.make(dir.resolve("src.img"), "ext4");
        Volume tgt = Volume.make(dir.resolve("tgt.img"), fs)) {
      Path s = src.mount.mountPoint();
      Path t = tgt.mount.mountPoint();
      Cmd.run("bash", "-c", SOURCE_TREE, "-", s.toString());
      Cmd.run("bash", "-c", TARGET_TREE, "-", t.toString());
      String keepBefore = unrelated(t);

      List<String> warnings = new ArrayList<>();
      FileCopyReport r = new FileCopy(s, t, FileCopyOptions.defaults(), warnings::add).run(mat);
      assertTrue(r.ok(), r + " " + warnings);
      assertTrue(r.verified());
      assertEquals(List.of(), r.lost());

      // rsync compares content by checksum, and hard links, ACLs, xattrs, owners, modes, times.
      String changes =
          Cmd.run(
              "rsync",
              "-naHAXc",
              "--numeric-ids",
              "--itemize-changes",
              // XFS lists a file's ACLs a second time as trusted.SGI_ACL_*, which rsync -X sees
              // as a difference even after its own copy: there getfattr below compares them.
              "--filter=" + (fs.equals("xfs") ? "-x trusted.*" : "-x none.*"),
              s + "/",
              t + "/");
      assertEquals("", changes, "rsync sees differences");
      // Unrelated items are unchanged, conflicts took the source's kind.
      assertEquals(keepBefore, unrelated(t));
      assertTrue(Files.isDirectory(t.resolve("conflict_dir")));
      assertTrue(Files.isRegularFile(t.resolve("conflict_file")));
      assertTrue(Files.isSymbolicLink(t.resolve("link_vs_file")));
      // Holes stay holes.
      long allocated = Long.parseLong(Cmd.run("stat", "-c", "%b", t + "/sparse.img"));
      assertTrue(allocated * 512 < 1 << 20, "sparse.img takes " + allocated + " blocks");
      // No temporary names left behind.
      assertEquals("", Cmd.run("find", t.toString(), "-name", ".imprint-tmp-*"));
      // The tools agree, item by item of the source.
      for (String tool : List.of("getfattr -h -d -m - -e hex", "getfacl -P -n", "getcap")) {
        String filter = tool.startsWith("getfattr") ? "" : " ! -type l";
        String script =
            "cd \"$1\" && (cd \"$2\" && find . -mindepth 1"
                + filter
                + " -print0 | sort -z) | xargs -0 "
                + tool
                + (tool.startsWith("getfattr") ? " | grep -v '^trusted.SGI_ACL_'" : "")
                + " | cat -v";
        assertEquals(
            Cmd.run("bash", "-c", script, "-", s.toString(), s.toString()),
            Cmd.run("bash", "-c", script, "-", t.toString(), s.toString()),
            tool);
      }
    }
  }

  @Test
  void verificationCatchesAByteFlippedUnderTheMountAndAChangedMode() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mkfs.ext4", "filefrag", "python3", "setfattr", "setfacl", "setcap");
    try (Volume src = Volume.make(dir.resolve("src.img"), "ext4");
        Volume tgt = Volume.make(dir.resolve("tgt.img"), "ext4")) {
      Path s = src.mount.mountPoint();
      Path t = tgt.mount.mountPoint();
      Cmd.run("bash", "-c", SOURCE_TREE, "-", s.toString());
      FileCopy copy = new FileCopy(s, t, FileCopyOptions.defaults(), w -> {});
      assertTrue(copy.run(mat).ok());

      // The first block of big.bin, changed on the device itself: the page cache still has the
      // old bytes, so only a read past it sees the change.
      Cmd.run("sync");
      String frag = Cmd.run("filefrag", "-v", t + "/big.bin");
      long blockSize = Long.parseLong(Cmd.run("stat", "-f", "-c", "%S", t.toString()));
      long offset = firstPhysicalBlock(frag) * blockSize + 100;
      Cmd.run(
          "bash",
          "-c",
          "printf '\\x5a' | dd of=\"$1\" bs=1 seek=$2 conv=notrunc,fsync status=none",
          "-",
          tgt.loop.path().toString(),
          Long.toString(offset));
      Files.setPosixFilePermissions(
          t.resolve("small.txt"),
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));

      FileCopyReport r = new FileCopy(s, t, FileCopyOptions.defaults(), w -> {}).verifyOnly(mat);
      assertFalse(r.ok());
      String all = String.join("\n", r.differences());
      assertTrue(all.contains("big.bin: content differs at byte 100"), all);
      assertTrue(all.contains("small.txt: mode 666 on the target, 644 in the source"), all);
      assertEquals(2, r.differenceCount(), all);
    }
  }

  @Test
  void aUserWhoCannotChownGetsOneReportPerKindAndTheRest() throws Exception {
    Root.assumeRoot();
    Path s = Unprivileged.openToAll(Files.createDirectories(dir.resolve("src")));
    Path t = Unprivileged.openToAll(Files.createDirectories(dir.resolve("tgt")));
    Cmd.run("chown", Unprivileged.NOBODY + ":" + Unprivileged.NOBODY, t.toString());
    Cmd.run(
        "bash",
        "-c",
        "cd \"$1\" && for i in 1 2 3; do printf $i > f$i; chown 1234:5678 f$i; chmod 644 f$i;"
            + " done && mkdir d && chmod 755 d && printf x > d/g && chmod 644 d/g && chown 4321 d/g"
            + " && mknod c c 1 3 && printf s > secret && chmod 000 secret",
        "-",
        s.toString());
    Cmd.Result r = Unprivileged.run(FileCopyTreeMain.class, s.toString(), t.toString());
    assertEquals(0, r.exitCode(), r.stderr());
    String out = r.stdout();
    assertEquals(1, count(out, "cannot keep ownership"), out);
    assertEquals(1, count(out, "cannot keep device nodes"), out);
    assertTrue(out.contains("differences: []"), out);
    assertTrue(out.contains("failed: [secret: Permission denied]"), out);
    assertEquals("3", Cmd.run("cat", t + "/f3"));
    assertEquals(String.valueOf(Unprivileged.NOBODY), Cmd.run("stat", "-c", "%u", t + "/f1"));
  }

  @Test
  void refusesATargetInsideTheSource() throws IOException {
    Path s = Files.createDirectories(dir.resolve("src"));
    Path t = Files.createDirectories(s.resolve("inner"));
    Refusal r =
        org.junit.jupiter.api.Assertions.assertThrows(
            Refusal.class, () -> new FileCopy(s, t, FileCopyOptions.defaults(), w -> {}).check());
    assertTrue(r.getMessage().contains("lies inside the source"), r.getMessage());
    Refusal missing =
        org.junit.jupiter.api.Assertions.assertThrows(
            Refusal.class,
            () ->
                new FileCopy(dir.resolve("nope"), t, FileCopyOptions.defaults(), w -> {}).check());
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
  }

  @Test
  void excludeAndDelete() throws Exception {
    Path s = Files.createDirectories(dir.resolve("src"));
    Path t = Files.createDirectories(dir.resolve("tgt"));
    Cmd.run(
        "bash",
        "-c",
        "cd \"$1\" && mkdir -p a/cache b && printf 1 > a/x && printf 2 > a/cache/y && printf 3 >"
            + " b/z.tmp && printf 4 > b/z",
        "-",
        s.toString());
    Cmd.run(
        "bash",
        "-c",
        "cd \"$1\" && mkdir -p a c && printf old > a/gone && printf keep > a/kept.tmp && printf c >"
            + " c/c",
        "-",
        t.toString());
    FileCopyReport r =
        new FileCopy(s, t, new FileCopyOptions(true, List.of("*.tmp", "a/cache"), true, 2), w -> {})
            .run(mat);
    assertTrue(r.ok(), r.toString());
    assertEquals(
        "",
        Cmd.run(
                "bash",
                "-c",
                "cd \"$1\" && find . -mindepth 1 | sort | tr '\\n' ' '",
                "-",
                t.toString())
            .replace("./a ./a/kept.tmp ./a/x ./b ./b/z", ""));
  }

  @Test
  void aFullTargetStopsTheCopyWithWholeFilesOnly() throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("mkfs.ext4");
    Path s = Files.createDirectories(dir.resolve("src"));
    java.util.Random random = new java.util.Random(3);
    for (int i = 0; i < 40; i++) {
      byte[] data = new byte[1 << 20];
      random.nextBytes(data);
      Files.write(s.resolve("f" + i), data);
    }
    try (Volume tgt = Volume.make(dir.resolve("small.img"), "ext4-16M")) {
      Path t = tgt.mount.mountPoint();
      Files.writeString(t.resolve("unrelated"), "stays");
      FileCopyReport r = new FileCopy(s, t, FileCopyOptions.defaults(), w -> {}).run(mat);
      assertFalse(r.ok());
      assertTrue(r.stopped().contains("the target is full"), r.toString());
      assertEquals("stays", Files.readString(t.resolve("unrelated")));
      assertEquals("", Cmd.run("find", t.toString(), "-name", ".imprint-tmp-*"));
      try (var all = Files.list(t)) {
        for (Path p : (Iterable<Path>) all::iterator) {
          String n = p.getFileName().toString();
          if (n.startsWith("f")) {
            assertTrue(
                java.util.Arrays.equals(Files.readAllBytes(s.resolve(n)), Files.readAllBytes(p)),
                n + " is not whole");
          }
        }
      }
    }
  }

  @Test
  void staysOnTheSourcesFilesystem() throws Exception {
    Root.assumeRoot();
    Path s = Files.createDirectories(dir.resolve("src/mounted"));
    Path t = Files.createDirectories(dir.resolve("tgt"));
    Files.writeString(dir.resolve("src/plain"), "p");
    Cmd.run("mount", "-t", "tmpfs", "-o", "size=1m", "imprint-filecopy-test", s.toString());
    try {
      Files.writeString(s.resolve("inside"), "i");
      List<String> warnings = new ArrayList<>();
      FileCopyReport r =
          new FileCopy(dir.resolve("src"), t, FileCopyOptions.defaults(), warnings::add).run(mat);
      assertTrue(r.ok(), r + " " + warnings);
      assertEquals("p", Files.readString(t.resolve("plain")));
      assertFalse(Files.exists(t.resolve("mounted")));
      assertEquals(
          List.of("mounted/ is another filesystem mounted in the source: not copied"), warnings);
    } finally {
      Cmd.run("umount", s.toString());
    }
  }

  /** Without root: names that aren't UTF-8 and a path far longer than PATH_MAX. */
  @Test
  void byteNamesAndPathsLongerThanPathMax() throws Exception {
    // Not in @TempDir: JUnit's clean-up goes by paths, which are too long here; rm isn't.
    Path top = Files.createTempDirectory("imprint-filecopy-long-");
    try {
      longPaths(top);
    } finally {
      Cmd.run("rm", "-rf", top.toString());
    }
  }

  private static void longPaths(Path top) throws Exception {
    Path s = Files.createDirectories(top.resolve("src"));
    Path t = Files.createDirectories(top.resolve("tgt"));
    String deep =
        "cd \"$1\" && printf a > $'caf\\xe9' && printf b > $'\\xff\\xfe\\x01' && for i in $(seq 1 30);"
            + " do n=$(printf 'x%.0s' $(seq 1 200))$i; mkdir $n; cd $n; done && printf bottom > leaf";
    Cmd.run("bash", "-c", deep, "-", s.toString());
    FileCopyReport r = new FileCopy(s, t, FileCopyOptions.defaults(), w -> {}).run(mat);
    assertTrue(r.ok(), r.toString());
    String read =
        "cd \"$1\" && cat $'caf\\xe9' $'\\xff\\xfe\\x01' && for i in $(seq 1 30); do"
            + " cd $(printf 'x%.0s' $(seq 1 200))$i; done && cat leaf";
    assertEquals("abbottom", Cmd.run("bash", "-c", read, "-", t.toString()));
  }

  /** The target's unrelated items as stat sees them: they must not change. */
  private static String unrelated(Path t) {
    return Cmd.run(
        "stat", "-c", "%n %s %a %u %g %y", t + "/keep.txt", t + "/keepdir/y", t + "/merged/b");
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + 1)) {
      n++;
    }
    return n;
  }

  static long firstPhysicalBlock(String filefrag) {
    for (String line : filefrag.split("\n")) {
      String l = line.trim();
      if (l.startsWith("0:")) {
        // "0:        0..     767:      34816..     35583:    768:"
        String[] f = l.split(":");
        return Long.parseLong(f[2].trim().split("\\.\\.")[0].trim());
      }
    }
    throw new IllegalStateException("no extent in " + filefrag);
  }

  /** A filesystem on a loop device over a file, mounted on a temporary directory. */
  record Volume(LoopDevice loop, TempMount mount) implements AutoCloseable {
    static Volume make(Path image, String fs) throws IOException {
      try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
        f.setLength(fs.equals("xfs") ? 320L << 20 : fs.equals("ext4-16M") ? 16L << 20 : 256L << 20);
      }
      LoopDevice loop = LoopDevice.attach(image);
      try {
        if (fs.equals("xfs")) {
          Cmd.run("mkfs.xfs", "-q", "-f", loop.path().toString());
        } else {
          Cmd.run("mkfs.ext4", "-q", "-F", loop.path().toString());
        }
        return new Volume(loop, TempMount.mount(loop.path()));
      } catch (RuntimeException e) {
        loop.close();
        throw e;
      }
    }

    @Override
    public void close() {
      try {
        mount.close();
      } finally {
        loop.close();
      }
    }
  }
}
