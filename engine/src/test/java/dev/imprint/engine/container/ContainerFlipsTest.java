package dev.imprint.engine.container;

import static dev.imprint.engine.container.ContainerDamageTest.putBytes;
import static dev.imprint.engine.container.ContainerDamageTest.read;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.imprint.engine.image.ImageDamagedException;
import dev.imprint.engine.source.FileDisk;
import dev.imprint.engine.testing.Root;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Random byte flips in each container's tables (a fixed seed, so a failure repeats): whatever a
 * flip does, opening and reading give the disk, damage ({@link ImageDamagedException}) or a
 * refusal, each one line; never another exception, a hang or a huge allocation.
 */
class ContainerFlipsTest {
  private static final int FLIPS = 300;

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(
      value = ForeignImages.Kind.class,
      names = {"QCOW2", "QCOW2_V2", "VHD_DYNAMIC", "VHDX"})
  void flippedTableBytesAreReadOrOneLineOfDamage(ForeignImages.Kind kind) throws Exception {
    Root.assumeCommands("qemu-img");
    Path sound = ForeignImages.convert(ForeignImages.raw(dir, 90), kind);
    long[][] areas = areas(sound, kind);
    SplittableRandom random = new SplittableRandom(kind.ordinal() * 1000L + 7);
    Path img = dir.resolve("flipped");
    for (int i = 0; i < FLIPS; i++) {
      Files.copy(sound, img, StandardCopyOption.REPLACE_EXISTING);
      long[] area = areas[random.nextInt(areas.length)];
      long at = area[0] + random.nextLong(area[1]);
      byte old = read(img, at, 1)[0];
      byte flipped = (byte) (old ^ (1 << random.nextInt(8)));
      putBytes(img, at, new byte[] {flipped});
      String what = kind + ": byte " + at + " " + old + " -> " + flipped;
      try (ContainerDisk disk = Containers.open(FileDisk.open(img)).orElseThrow()) {
        disk.extents();
        ByteBuffer b = ByteBuffer.allocate(4 << 20);
        for (long off = 0; off < disk.size(); off += 8L << 20) {
          b.clear();
          disk.read(b, off);
        }
      } catch (ImageDamagedException | ContainerRefusedException e) {
        assertFalse(e.getMessage().contains("\n"), what + ": " + e.getMessage());
      } catch (java.util.NoSuchElementException e) {
        // No longer recognised as this format at all (its magic flipped): not this reader's.
      } catch (Throwable t) {
        throw new AssertionError(what, t);
      }
    }
  }

  /** File ranges (offset, length) holding the format's headers and tables. */
  private static long[][] areas(Path img, ForeignImages.Kind kind) throws Exception {
    long size = Files.size(img);
    return switch (kind) {
      case QCOW2, QCOW2_V2 -> {
        long l1 = ContainerDamageTest.getLong(img, 40, java.nio.ByteOrder.BIG_ENDIAN);
        yield new long[][] {{0, 112}, {l1, 8}, {ContainerDamageTest.qcow2L2(img), 8 * 400}};
      }
      case VHD_DYNAMIC -> {
        long header =
            ContainerDamageTest.getLong(img, size - 512 + 16, java.nio.ByteOrder.BIG_ENDIAN);
        long bat = ContainerDamageTest.getLong(img, header + 16, java.nio.ByteOrder.BIG_ENDIAN);
        yield new long[][] {{size - 512, 512}, {header, 1024}, {bat, 4 * 13}};
      }
      default -> {
        long bat = ContainerDamageTest.vhdxBat(img);
        long md = ContainerDamageMoreTest.metadataRegion(img);
        // The metadata table and its values carry no checksum.
        yield new long[][] {
          {0, 8}, {64 << 10, 4096}, {192 << 10, 256}, {bat, 8 * 12}, {md, 32 * 7}, {md + 65536, 64}
        };
      }
    };
  }
}
