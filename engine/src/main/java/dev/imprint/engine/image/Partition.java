package dev.imprint.engine.image;

/**
 * One partition of a device image: its number in the table, byte extent, type (a GPT type GUID or
 * an MBR type byte as hex), label, and the filesystem found in it ("" when unknown).
 */
public record Partition(
    int number, long offset, long length, String type, String label, String filesystem) {}
