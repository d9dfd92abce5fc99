package dev.imprint.cli.station;

import dev.imprint.actors.station.StationEvent;

/** How the station's events are shown: a board, one line per change, or JSON lines. */
interface StationDisplay extends AutoCloseable {
  void event(StationEvent e);

  /** Called a few times a second: redraw what changed. */
  default void tick() {}

  /** The last line: how the station ended. */
  void finished(boolean ok, String message, int exitCode);

  @Override
  default void close() {}
}
