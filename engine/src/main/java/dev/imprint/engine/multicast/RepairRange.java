package dev.imprint.engine.multicast;

/**
 * Stored bytes a receiver still needs, to fetch out of band (an HTTP range of the image file):
 * {@code length} bytes of index entry {@code entryNumber}'s stored payload from {@code
 * chunkOffset}, which sit at {@code fileOffset} in the image file. Always whole symbols (the last
 * of a chunk shorter).
 */
public record RepairRange(int entryNumber, int chunkOffset, int length, long fileOffset) {}
