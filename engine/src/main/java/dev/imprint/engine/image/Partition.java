package dev.imprint.engine.image;

/**
 * One partition of a device image: its number in the table, byte extent, type (a GPT type GUID or
 * an MBR type byte as hex), label, the filesystem found in it ("" when unknown), and how its used
 * blocks were found (or why every block was copied).
 */
public record Partition(
    int number,
    long offset,
    long length,
    String type,
    String label,
    String filesystem,
    String note) {}
