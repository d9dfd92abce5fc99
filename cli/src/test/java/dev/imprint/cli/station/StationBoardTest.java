package dev.imprint.cli.station;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.actors.station.SlotState;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.engine.discovery.Drive;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.List;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.AttributedString;
import org.junit.jupiter.api.Test;

/** The board fits an 80×24 terminal, whatever the number of slots, and says what it hides. */
class StationBoardTest {
  private static Drive drive(int i) {
    return new Drive(
        "sd" + (char) ('a' + i % 26),
        Path.of("/dev/sd" + (char) ('a' + i % 26)),
        "8:" + 16 * i,
        "pci-0000:00:14.0-usb-1-" + i,
        "usb",
        "SanDisk",
        "Ultra Fit",
        "4C530001" + i,
        "drive",
        "",
        32_000_000_000L,
        true,
        false,
        "",
        false);
  }

  @Test
  void thirtySlotsOnAnEightyByTwentyFourScreen() throws Exception {
    Terminal t =
        TerminalBuilder.builder()
            .dumb(true)
            .streams(new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream())
            .build();
    StationBoard board = new StationBoard(t, "golden.imprint");
    for (int i = 0; i < 30; i++) {
      Drive d = drive(i);
      String slot = d.slot();
      SlotState s = i % 3 == 0 ? SlotState.DONE : i % 3 == 1 ? SlotState.WRITING : SlotState.FAILED;
      board.event(
          new StationEvent.SlotChanged(
              slot,
              i < 4 ? "A" + (i + 1) : slot,
              d,
              s,
              s == SlotState.FAILED ? "verification failed at byte 1048576 of " + d.node() : "",
              s == SlotState.FAILED ? 1048576 : -1));
      if (s == SlotState.WRITING) {
        board.event(
            new StationEvent.SlotProgress(slot, SlotState.WRITING, 1L << 30, 4L << 30, 40e6));
      }
    }
    List<AttributedString> lines = board.render(80, 24);
    assertEquals(24, lines.size());
    for (AttributedString l : lines) {
      assertTrue(l.columnLength() <= 80, l.toString());
    }
    String screen = String.join("\n", lines.stream().map(AttributedString::toString).toList());
    assertTrue(screen.contains("[slots 1-20 of 30]"), screen);
    assertTrue(screen.contains("A1 "), screen);
    assertTrue(screen.contains(" 25%  40.0  1:20"), screen);
    assertTrue(
        screen.contains("[first bad byte 1048576]") || screen.contains("verification fa"), screen);
    assertTrue(screen.contains("running 10"), screen);
  }
}
