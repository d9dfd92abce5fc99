package dev.imprint.engine.filecopy;

import java.util.List;

/**
 * What a file copy did.
 *
 * @param items items copied (directories included)
 * @param bytes bytes of file data copied
 * @param failed items that could not be copied, each "path: why" (at most the first 1000)
 * @param failedCount how many items failed in all
 * @param lost kinds of metadata the target could not keep, once each ("ownership", "file
 *     capabilities", ...)
 * @param stopped why the copy stopped before its end (a full target), or null
 * @param verified whether verification ran
 * @param differences what verification found, each "path: what differs" (at most the first 1000)
 * @param differenceCount how many items differ in all
 */
public record FileCopyReport(
    long items,
    long bytes,
    List<String> failed,
    long failedCount,
    List<String> lost,
    String stopped,
    boolean verified,
    List<String> differences,
    long differenceCount) {

  public boolean ok() {
    return failedCount == 0 && stopped == null && differenceCount == 0;
  }
}
