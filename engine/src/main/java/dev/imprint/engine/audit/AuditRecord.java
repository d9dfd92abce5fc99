package dev.imprint.engine.audit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One line of a station's audit log: a drive job starting ({@code event} "start") or ending
 * ("end"). docs/STATION.md lists every field. An end record repeats the start record's fields, so
 * each line stands on its own; {@code job} pairs them.
 *
 * @param event "start" or "end"
 * @param job a unique id of the drive job, the same in its start and end records
 * @param startTime ISO-8601 UTC, when the job started
 * @param endTime ISO-8601 UTC, when it ended ("" in a start record)
 * @param host the station's host name
 * @param slot the slot's label (or its port path when it has none)
 * @param port the port path
 * @param device the device node
 * @param vendor drive vendor
 * @param model drive model
 * @param serial drive serial (its bridge's when the drive's is unknown)
 * @param serialSource "drive", "bridge" or ""
 * @param repeat the serial was seen in an earlier job of this log
 * @param capacity bytes the drive reports
 * @param image the source as named
 * @param digest the image digest ("sha256:..."), "" for raw sources
 * @param signers fingerprints of the image's signatures
 * @param bytesWritten bytes written to the drive
 * @param verify "passed", "failed", "skipped", or "" (not reached)
 * @param firstBadOffset the first byte that read back wrong, -1 if none
 * @param bytesPerSecond bytes written per second of the job
 * @param result "started" in a start record; then "done", "failed" or "cancelled"
 * @param error why it failed, "" when it did not
 * @param version the Imprint version
 * @param newDiskId {@code --new-ids}: the drive's new GPT disk GUID or MBR signature, else ""
 * @param newIds {@code --new-ids}: one {@code NUMBER:PARTITION-GUID:FILESYSTEM:UUID} per partition
 *     given new ids (number 0: a volume without a table; fields "" when unchanged)
 */
public record AuditRecord(
    String event,
    String job,
    String startTime,
    String endTime,
    String host,
    String slot,
    String port,
    String device,
    String vendor,
    String model,
    String serial,
    String serialSource,
    boolean repeat,
    long capacity,
    String image,
    String digest,
    List<String> signers,
    long bytesWritten,
    String verify,
    long firstBadOffset,
    long bytesPerSecond,
    String result,
    String error,
    String version,
    String newDiskId,
    List<String> newIds) {

  public AuditRecord {
    signers = List.copyOf(signers);
    newIds = List.copyOf(newIds);
  }

  /** A record without new ids (a start record, or a job without {@code --new-ids}). */
  public AuditRecord(
      String event,
      String job,
      String startTime,
      String endTime,
      String host,
      String slot,
      String port,
      String device,
      String vendor,
      String model,
      String serial,
      String serialSource,
      boolean repeat,
      long capacity,
      String image,
      String digest,
      List<String> signers,
      long bytesWritten,
      String verify,
      long firstBadOffset,
      long bytesPerSecond,
      String result,
      String error,
      String version) {
    this(
        event,
        job,
        startTime,
        endTime,
        host,
        slot,
        port,
        device,
        vendor,
        model,
        serial,
        serialSource,
        repeat,
        capacity,
        image,
        digest,
        signers,
        bytesWritten,
        verify,
        firstBadOffset,
        bytesPerSecond,
        result,
        error,
        version,
        "",
        List.of());
  }

  /** The end record of this (start) record's job. */
  public AuditRecord ended(
      String endTime,
      long bytesWritten,
      String verify,
      long firstBadOffset,
      long bytesPerSecond,
      String result,
      String error) {
    return new AuditRecord(
        "end",
        job,
        startTime,
        endTime,
        host,
        slot,
        port,
        device,
        vendor,
        model,
        serial,
        serialSource,
        repeat,
        capacity,
        image,
        digest,
        signers,
        bytesWritten,
        verify,
        firstBadOffset,
        bytesPerSecond,
        result,
        error,
        version,
        newDiskId,
        newIds);
  }

  /** The same record with the new ids {@code --new-ids} gave the drive. */
  public AuditRecord withNewIds(String diskId, List<String> volumes) {
    return new AuditRecord(
        event,
        job,
        startTime,
        endTime,
        host,
        slot,
        port,
        device,
        vendor,
        model,
        serial,
        serialSource,
        repeat,
        capacity,
        image,
        digest,
        signers,
        bytesWritten,
        verify,
        firstBadOffset,
        bytesPerSecond,
        result,
        error,
        version,
        diskId,
        volumes);
  }

  /** The same record marked as a repeat (or not). */
  public AuditRecord withRepeat(boolean r) {
    return new AuditRecord(
        event,
        job,
        startTime,
        endTime,
        host,
        slot,
        port,
        device,
        vendor,
        model,
        serial,
        serialSource,
        r,
        capacity,
        image,
        digest,
        signers,
        bytesWritten,
        verify,
        firstBadOffset,
        bytesPerSecond,
        result,
        error,
        version,
        newDiskId,
        newIds);
  }

  /** The fields in log order, as written to a line and to CSV. */
  public Map<String, Object> fields() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("event", event);
    m.put("job", job);
    m.put("startTime", startTime);
    m.put("endTime", endTime);
    m.put("host", host);
    m.put("slot", slot);
    m.put("port", port);
    m.put("device", device);
    m.put("vendor", vendor);
    m.put("model", model);
    m.put("serial", serial);
    m.put("serialSource", serialSource);
    m.put("repeat", repeat);
    m.put("capacity", capacity);
    m.put("image", image);
    m.put("digest", digest);
    m.put("signers", signers);
    m.put("bytesWritten", bytesWritten);
    m.put("verify", verify);
    m.put("firstBadOffset", firstBadOffset);
    m.put("bytesPerSecond", bytesPerSecond);
    m.put("result", result);
    m.put("error", error);
    m.put("newDiskId", newDiskId);
    m.put("newIds", newIds);
    m.put("version", version);
    return m;
  }

  /** The line as written (without its newline). */
  public String toJson() {
    return FlatJson.encode(fields());
  }

  /** A line read back; empty for a line that is not a whole record (cut short by a power cut). */
  public static Optional<AuditRecord> parse(String line) {
    Optional<Map<String, Object>> m = FlatJson.decode(line);
    if (m.isEmpty() || !m.get().containsKey("event") || !m.get().containsKey("version")) {
      return Optional.empty();
    }
    Map<String, Object> f = m.get();
    @SuppressWarnings("unchecked")
    List<String> signers = f.get("signers") instanceof List<?> l ? (List<String>) l : List.of();
    @SuppressWarnings("unchecked")
    List<String> newIds = f.get("newIds") instanceof List<?> n ? (List<String>) n : List.of();
    return Optional.of(
        new AuditRecord(
            str(f, "event"),
            str(f, "job"),
            str(f, "startTime"),
            str(f, "endTime"),
            str(f, "host"),
            str(f, "slot"),
            str(f, "port"),
            str(f, "device"),
            str(f, "vendor"),
            str(f, "model"),
            str(f, "serial"),
            str(f, "serialSource"),
            Boolean.TRUE.equals(f.get("repeat")),
            num(f, "capacity"),
            str(f, "image"),
            str(f, "digest"),
            signers,
            num(f, "bytesWritten"),
            str(f, "verify"),
            num(f, "firstBadOffset"),
            num(f, "bytesPerSecond"),
            str(f, "result"),
            str(f, "error"),
            str(f, "version"),
            str(f, "newDiskId"),
            newIds));
  }

  private static String str(Map<String, Object> f, String k) {
    Object v = f.get(k);
    return v == null ? "" : v.toString();
  }

  private static long num(Map<String, Object> f, String k) {
    return f.get(k) instanceof Number n ? n.longValue() : 0;
  }
}
