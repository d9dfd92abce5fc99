package dev.imprint.engine.partition;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Cmd;
import dev.imprint.engine.testing.Root;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Disk images partitioned by the real tools (sgdisk, sfdisk), and what those tools say of them. */
final class TableFixtures {
  static final long MIB = 1L << 20;

  /** One line of {@code sfdisk -d}. */
  record SfdiskLine(int number, long start, long size, int type, boolean bootable) {}

  /** What {@code sgdisk -i N} prints. */
  record SgdiskInfo(
      String typeGuid, String uniqueGuid, long first, long last, long attributes, String name) {}

  private static final Pattern SFDISK_LINE =
      Pattern.compile(
          "(\\d+) : start=\\s*(\\d+), size=\\s*(\\d+), type=([0-9a-fA-F]+)(, bootable)?");

  private TableFixtures() {}

  static void assumeTools() {
    Root.assumeCommands("sgdisk", "sfdisk");
  }

  static Path sparseFile(Path file, long size) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
    }
    return file;
  }

  /** A GPT with three named partitions of different types; partition 1 has attribute bit 0. */
  static Path threePartitionGpt(Path file, long size, String lastEnd) throws IOException {
    sparseFile(file, size);
    sgdisk(
        file,
        "-n",
        "1:2048:+10M",
        "-t",
        "1:EF00",
        "-c",
        "1:EFI System",
        "-n",
        "2:0:+20M",
        "-t",
        "2:8300",
        "-c",
        "2:root",
        "-n",
        "3:0:" + lastEnd,
        "-t",
        "3:8E00",
        "-c",
        "3:dätä x",
        "-A",
        "1:set:0",
        "-A",
        "2:set:63");
    return file;
  }

  static String sgdisk(Path file, String... args) {
    List<String> argv = new ArrayList<>(List.of("sgdisk"));
    argv.addAll(List.of(args));
    argv.add(file.toString());
    return Cmd.run(argv.toArray(String[]::new));
  }

  /** {@code sgdisk -v}'s output, whatever its exit code. */
  static String verify(Path file) {
    Cmd.Result r = Cmd.result("sgdisk", "-v", file.toString());
    return r.stdout() + r.stderr();
  }

  static SgdiskInfo sgdiskInfo(Path file, int number) {
    String out = sgdisk(file, "-i", Integer.toString(number));
    Map<String, String> fields = new HashMap<>();
    for (String line : out.split("\n")) {
      int colon = line.indexOf(": ");
      if (colon > 0) {
        fields.put(line.substring(0, colon), line.substring(colon + 2));
      }
    }
    String name = fields.get("Partition name");
    return new SgdiskInfo(
        fields.get("Partition GUID code").split(" ")[0],
        fields.get("Partition unique GUID"),
        Long.parseLong(fields.get("First sector").split(" ")[0]),
        Long.parseLong(fields.get("Last sector").split(" ")[0]),
        Long.parseUnsignedLong(fields.get("Attribute flags"), 16),
        name.substring(1, name.length() - 1));
  }

  /** Partitions {@code file} with an sfdisk script (sfdisk reads it from stdin). */
  static void sfdisk(Path file, String script) throws IOException {
    Path scriptFile =
        Files.writeString(file.resolveSibling(file.getFileName() + ".sfdisk"), script);
    Cmd.run(
        "sh", "-c", "sfdisk -q \"$1\" < \"$2\"", "sfdisk", file.toString(), scriptFile.toString());
  }

  static List<SfdiskLine> sfdiskDump(Path file) {
    List<SfdiskLine> lines = new ArrayList<>();
    Matcher m = SFDISK_LINE.matcher(Cmd.run("sfdisk", "-d", file.toString()));
    while (m.find()) {
      lines.add(
          new SfdiskLine(
              Integer.parseInt(m.group(1)),
              Long.parseLong(m.group(2)),
              Long.parseLong(m.group(3)),
              Integer.parseInt(m.group(4), 16),
              m.group(5) != null));
    }
    return lines;
  }

  static PartitionTable read(Path file) throws IOException {
    try (FileDisk disk = FileDisk.open(file)) {
      return PartitionTables.read(disk);
    }
  }

  static byte[] bytes(Path file, long offset, int length) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(length);
      while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) {}
      assertTrue(!b.hasRemaining(), "short read of " + file);
      return b.array();
    }
  }

  static void write(Path file, long offset, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b, offset + b.position());
      }
    }
  }

  static void flipByte(Path file, long offset) throws IOException {
    byte[] b = bytes(file, offset, 1);
    b[0] ^= 0x5A;
    write(file, offset, b);
  }
}
