package dev.imprint.engine.filecopy;

import java.nio.file.Path;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;

/** A file copy in its own process, for tests that run it as another user: SOURCE TARGET. */
public final class FileCopyTreeMain {
  private FileCopyTreeMain() {}

  public static void main(String[] args) throws Exception {
    ActorSystem system = ActorSystem.create("filecopy-main");
    try {
      FileCopyReport r =
          new FileCopy(
                  Path.of(args[0]),
                  Path.of(args[1]),
                  FileCopyOptions.defaults(),
                  w -> System.out.println("warning: " + w))
              .run(Materializer.matFromSystem(system));
      System.out.println("lost: " + r.lost());
      System.out.println("failed: " + r.failed());
      System.out.println("differences: " + r.differences());
      System.out.println("ok: " + r.ok());
    } finally {
      system.terminate();
    }
  }
}
