package dev.imprint.engine.container;

import dev.imprint.engine.source.RandomAccessInput;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** Every foreign container format Imprint reads, tried in order. */
public final class Containers {
  private Containers() {}

  /** One line per format; a reader is added here and nowhere else. */
  public static final List<ContainerFormat> ALL =
      List.of(new dev.imprint.engine.container.sparse.AndroidSparse());

  /** The format that recognises {@code in}, if any. */
  public static Optional<ContainerFormat> recognize(RandomAccessInput in) throws IOException {
    for (ContainerFormat f : ALL) {
      if (f.recognizes(in)) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }
}
