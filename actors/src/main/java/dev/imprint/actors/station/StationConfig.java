package dev.imprint.actors.station;

import dev.imprint.engine.audit.AuditLog;
import dev.imprint.engine.discovery.DeviceWatcher;
import dev.imprint.engine.discovery.Drive;
import dev.imprint.engine.discovery.SlotMap;
import dev.imprint.engine.discovery.Sysfs;
import dev.imprint.engine.job.ImageFacts;
import dev.imprint.engine.job.SourceSpec;
import dev.imprint.engine.rules.DriveRules;
import java.nio.file.Path;

/**
 * How a station runs.
 *
 * @param source the image every accepted drive gets
 * @param facts what the source said about itself when the station started
 * @param rules which drives are imaged
 * @param slots labels and armed flags ({@link SlotMap#empty()} without a map)
 * @param slotMapFile where learned slots are appended, or null
 * @param learn label each new port in turn instead of imaging ({@code --learn-slots})
 * @param armedOnly image only slots the map marks armed
 * @param includePresent image drives that were attached when the station started
 * @param erase consent to erase accepted drives; without it the station only lists them
 * @param probe when to run the fake-capacity probe
 * @param verify read each drive back after writing
 * @param eject power a drive down when its job succeeded
 * @param once stop after this many jobs have ended (0: run until stopped)
 * @param audit the audit log, or null
 * @param version Imprint's version, for the audit log
 * @param sysfs where drives are discovered
 * @param watch uevents or polling
 * @param newIds give each drive fresh GPT GUIDs and filesystem UUIDs after it verified
 */
public record StationConfig(
    SourceSpec source,
    ImageFacts facts,
    DriveRules rules,
    SlotMap slots,
    Path slotMapFile,
    boolean learn,
    boolean armedOnly,
    boolean includePresent,
    boolean erase,
    Probe probe,
    boolean verify,
    boolean eject,
    int once,
    AuditLog audit,
    String version,
    Sysfs sysfs,
    DeviceWatcher.Options watch,
    boolean newIds) {

  /** The fake-capacity probe: always, never, or for USB drives only (the default). */
  public enum Probe {
    ALWAYS,
    NEVER,
    USB;

    public boolean appliesTo(Drive d) {
      return this == ALWAYS || (this == USB && d.usb());
    }
  }
}
