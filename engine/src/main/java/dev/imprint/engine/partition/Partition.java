package dev.imprint.engine.partition;

/**
 * A partition as an image records it: the table's entry, the filesystem found in it ("" when
 * unknown), and how its used blocks were found (or why every block was copied). A volume image, or
 * a device without a table, records itself as partition 0.
 *
 * <p>An image header keeps of the entry its number, extent, type and label (docs/FORMAT.md); the
 * unique GUID and attributes travel in the table's own bytes, which the image holds as data. So a
 * partition read back from a header has {@link PartitionEntry#recorded} entries.
 */
public record Partition(PartitionEntry entry, String filesystem, String note) {
  public int number() {
    return entry.number();
  }

  public long offset() {
    return entry.offset();
  }

  public long length() {
    return entry.length();
  }

  public String type() {
    return entry.type();
  }

  public String label() {
    return entry.label();
  }
}
