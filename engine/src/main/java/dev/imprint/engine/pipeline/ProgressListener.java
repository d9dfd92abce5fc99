package dev.imprint.engine.pipeline;

/** Receives progress of a long operation; called from stream threads, must be cheap. */
@FunctionalInterface
public interface ProgressListener {
  ProgressListener NONE = (done, total) -> {};

  void progress(long done, long total);
}
