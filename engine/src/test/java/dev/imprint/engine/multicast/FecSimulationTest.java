package dev.imprint.engine.multicast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scale simulation's goal on a smaller run: 60 clients at 5% random loss and 4 at 20% bursty
 * loss on a 4 MiB image; the first of each kind run the real reception and must end exact.
 */
class FecSimulationTest {
  @TempDir Path dir;

  @Test
  void everyClientIsDoneWithinOnePointTwoWPlusASmallRepair() throws Exception {
    List<FecSimulation.Outcome> out =
        FecSimulation.run(
            new FecSimulation.Setup(4 << 20, 60, 0.05, 4, 0.20, 10, 4, 6, true, 21), dir);
    FecSimulation.Outcome random = out.get(0);
    FecSimulation.Outcome bursty = out.get(1);
    assertTrue(random.firstLoopW() <= 1.2, "one loop takes " + random.firstLoopW() + " W");
    assertTrue(random.repairMax() <= 1_000_000, "repair at 5%: " + random);
    assertTrue(random.repairMean() < 50_000, "repair at 5% is small on average: " + random);
    assertEquals(0, random.unfinished(), "every client finishes from the loops alone too");
    assertEquals(0, bursty.unfinished(), "even 20% bursty loss finishes from later loops");
    assertTrue(bursty.loopsMax() <= 3, "bursty clients need a few loops: " + bursty);
  }

  @Test
  void withoutFecOneClientNeedsSeveralLoops() throws Exception {
    List<FecSimulation.Outcome> out =
        FecSimulation.run(
            new FecSimulation.Setup(4 << 20, 20, 0.05, 0, 0, 0, 0, 12, false, 5), dir);
    assertTrue(out.get(0).doneMaxW() > 2.5, "a plain carousel pays for loss in loops: " + out);
  }
}
