package dev.imprint.engine.job;

import dev.imprint.engine.device.DeviceException;
import dev.imprint.engine.device.Mount;
import dev.imprint.engine.device.OpenMode;
import dev.imprint.engine.device.SystemDisks;
import dev.imprint.engine.device.TargetCheck;
import dev.imprint.engine.device.TargetDevice;
import dev.imprint.engine.image.Image;
import dev.imprint.engine.image.ImageHeader;
import dev.imprint.engine.image.ImageKind;
import dev.imprint.engine.layout.TargetFit;
import dev.imprint.engine.partition.PartitionScheme;
import dev.imprint.engine.pipeline.ChunkSupply;
import dev.imprint.engine.pipeline.ImageChunks;
import dev.imprint.engine.pipeline.MemoryBudget;
import dev.imprint.engine.pipeline.MulticastChunks;
import dev.imprint.engine.pipeline.RestoreOptions;
import dev.imprint.engine.pipeline.StreamedImageChunks;
import dev.imprint.engine.pipeline.TableFix;
import dev.imprint.engine.pipeline.TargetWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The target half of a job's preparation, each step blocking and each refusal a {@link Refusal}:
 * inspect (exists, not the system, not twice, not the source), fit the source, unmount, open
 * exclusively.
 */
public final class TargetPlanner {
  private final SystemDisks disks;
  private final TargetCheck check;

  public TargetPlanner(SystemDisks disks) {
    this.disks = disks;
    this.check = new TargetCheck(disks);
  }

  public SystemDisks disks() {
    return disks;
  }

  /** One plan per target, in order; refuses the first that may not be erased. */
  public TargetCheck.Plan inspect(String target) throws Refusal {
    try {
      return check.inspect(target);
    } catch (IOException e) {
      throw new Refusal(e.getMessage());
    }
  }

  /** Refuses a disk named twice, and a target that is (or holds) the source. */
  public void checkDistinct(List<TargetCheck.Plan> plans, SourceSpec source) throws Refusal {
    try {
      check.checkDistinct(plans, source.localPath());
    } catch (IOException e) {
      throw new Refusal(e.getMessage());
    }
  }

  /** Bytes a target must hold: where the image's data and partitions end. */
  public static long needed(ChunkSupply supply, SourceSpec source) {
    Image image = imageOf(supply);
    return image != null && source.sourceVolume() == null
        ? TargetFit.minimumSize(image.metadata())
        : supply.logicalSize();
  }

  public void checkSizes(List<TargetCheck.Plan> plans, ChunkSupply supply, SourceSpec source)
      throws Refusal {
    long needed = needed(supply, source);
    try {
      for (TargetCheck.Plan p : plans) {
        check.checkSize(p, needed, supply.logicalSize());
      }
      // A chunk size this JVM cannot hold in flight is refused now, not after the erase.
      MemoryBudget.checkRestore(supply.chunkSize(), RestoreOptions.DEFAULT_HELD_REGION);
    } catch (IOException e) {
      throw new Refusal(e.getMessage());
    }
  }

  /** Unmounts everything mounted from a target, after the user agreed; returns what was. */
  public List<Mount> unmount(TargetCheck.Plan p) throws Refusal {
    try {
      return check.unmountAll(p);
    } catch (IOException e) {
      throw new Refusal(e.getMessage());
    }
  }

  /** Opens each target exclusively (nothing can mount it meanwhile); all or none. */
  public List<TargetWriter> open(
      List<TargetCheck.Plan> plans,
      ChunkSupply supply,
      SourceSpec source,
      boolean buffered,
      boolean discard)
      throws Refusal {
    boolean cut = needed(supply, source) < supply.logicalSize();
    List<TargetWriter> writers = new ArrayList<>();
    try {
      for (TargetCheck.Plan p : plans) {
        TargetDevice d = TargetDevice.open(p.path(), new OpenMode(true, !buffered));
        writers.add(new TargetWriter(p.spec(), d, discard, cut));
      }
      return writers;
    } catch (IOException e) {
      for (TargetWriter w : writers) {
        try {
          w.close();
        } catch (IOException ignored) {
          // Refusing anyway.
        }
      }
      throw new Refusal(e instanceof DeviceException ? e.getMessage() : e.toString());
    }
  }

  /** Whole-device GPT images get their table fitted to each target's size; else null. */
  public static TableFix tableFix(ChunkSupply supply, SourceSpec source, boolean growLast) {
    if (source.sourceVolume() != null) {
      return null;
    }
    ImageHeader h = headerOf(supply);
    if (h == null || h.kind() != ImageKind.DEVICE || h.scheme() != PartitionScheme.GPT) {
      return null;
    }
    return TableFix.gpt(h.sectorSize(), h.logicalSize(), growLast);
  }

  /** The Imprint header of the source, when it is an image. */
  public static ImageHeader headerOf(ChunkSupply supply) {
    Image image = imageOf(supply);
    return image != null
        ? image.header()
        : supply instanceof StreamedImageChunks sc ? sc.header() : null;
  }

  /** The image behind a supply read at random (a file, http(s) ranges, a multicast stream). */
  private static Image imageOf(ChunkSupply supply) {
    return supply instanceof ImageChunks ic
        ? ic.image()
        : supply instanceof MulticastChunks mc ? mc.image() : null;
  }
}
