package dev.imprint.actors.filecopy;

import dev.imprint.engine.filecopy.FileCopyProgress;

/** What a {@link FileCopyJob} tells its front end, in order; the last is always {@link Ended}. */
public sealed interface FileCopyEvent {
  /**
   * Progress of the copy or the verification, about four times a second once the source's totals
   * are counted.
   */
  record Progress(
      FileCopyProgress.Phase phase, long bytes, long totalBytes, long items, long totalItems)
      implements FileCopyEvent {}

  /** Something that does not stop the copy: a kind of metadata the target can't keep, ... */
  record Warning(String message) implements FileCopyEvent {}

  /** The job is over. */
  record Ended(FileCopyJob.Result result) implements FileCopyEvent {}
}
