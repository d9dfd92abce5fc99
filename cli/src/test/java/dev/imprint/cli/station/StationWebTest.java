package dev.imprint.cli.station;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.actors.station.SlotState;
import dev.imprint.actors.station.StationEvent;
import dev.imprint.cli.CliRun;
import dev.imprint.cli.ExitCode;
import dev.imprint.engine.discovery.Drive;
import dev.imprint.engine.testing.Cleanup;
import dev.imprint.engine.testing.LoopDevice;
import dev.imprint.engine.testing.Root;
import dev.imprint.engine.testing.TestData;
import java.io.File;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The station's web page served by Pekko HTTP and rendered by a real headless Chromium: its own
 * script must run and redraw a slot as it goes from writing to done. The API, the metrics and the
 * token are checked over real HTTP.
 */
class StationWebTest {
  private static final String TOKEN = "correct-horse-battery";
  private static ActorSystem<Void> system;

  @BeforeAll
  static void start() {
    system = ActorSystem.create(Behaviors.empty(), "web-test");
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  /** The station's side of the buttons, as the commands that reached it. */
  private static final class Commands implements StationWeb.Control {
    final BlockingQueue<String> seen = new LinkedBlockingQueue<>();

    @Override
    public void arm(String slot, boolean armed) {
      seen.add((armed ? "arm " : "disarm ") + slot);
    }

    @Override
    public void stop(String why) {
      seen.add("stop: " + why);
    }
  }

  private static Drive drive(String name) {
    return new Drive(
        name,
        Path.of("/dev/" + name),
        "7:9",
        "usb-0000:00:14.0-2",
        "usb",
        "SanDisk",
        "Ultra Fit",
        "4C530001",
        "sysfs",
        "",
        32_000_000_000L,
        true,
        false,
        "",
        false);
  }

  @Test
  void aRealBrowserShowsASlotGoingFromWritingToDone(@TempDir Path dir) throws Exception {
    Root.assumeCommands("chromium", "chromedriver");
    Commands commands = new Commands();
    try (StationWeb web = serve(Optional.of(TOKEN), commands)) {
      Drive d = drive("sdz");
      String slot = d.slot();
      web.event(new StationEvent.SlotChanged(slot, "A1", d, SlotState.WRITING, "", -1));
      web.event(new StationEvent.SlotProgress(slot, SlotState.WRITING, 8_000, 32_000, 12e6));
      web.tick();

      ChromeDriver browser = browser(dir);
      try {
        browser.get(web.address().toString());
        String row = "tr[data-slot='" + slot + "']";
        waitFor(
            "the slot shown as writing", () -> text(browser, row + " td.state").equals("writing"));
        waitFor("25% shown", () -> text(browser, row).contains("25%"));
        assertTrue(text(browser, row).contains("SanDisk Ultra Fit #4C530001"), text(browser, row));

        web.event(
            new StationEvent.SlotChanged(
                slot, "A1", d, SlotState.DONE, "verified, 32.0 GB in 2:40", -1));
        waitFor("the slot shown as done", () -> text(browser, row + " td.state").equals("done"));
        assertTrue(text(browser, row).contains("verified"), text(browser, row));
        assertTrue(text(browser, "#totals").startsWith("done 1"), text(browser, "#totals"));
        Object history =
            ((JavascriptExecutor) browser)
                .executeScript("return window.imprintHistory[arguments[0]];", slot);
        assertEquals(List.of("writing", "done"), history);

        // With a token the page offers its buttons, and they reach the station.
        browser.findElement(By.id("token")).sendKeys(TOKEN);
        browser.findElement(By.cssSelector(row + " button")).click();
        assertEquals("arm " + slot, commands.seen.poll(10, TimeUnit.SECONDS));
      } finally {
        browser.quit();
      }
    }
  }

  /**
   * The whole way: {@code imprint station --http} as its own process, a loop device attached while
   * it runs, the page in Chromium following the drive to done, and the stop button's request ending
   * the station.
   */
  @Test
  void theStationsOwnPageFollowsARealDriveToDone(@TempDir Path dir) throws Exception {
    Root.assumeRoot();
    Root.assumeCommands("chromium", "chromedriver", "losetup");
    Path raw = dir.resolve("golden.img");
    TestData.randomFile(raw, 6 << 20, 7);
    TestData.setLength(raw, 16 << 20);
    Path image = dir.resolve("golden.imprint");
    CliRun.Result created =
        CliRun.run("create", "--source", raw.toString(), "--output", image.toString());
    assertEquals(0, created.code(), created::toString);
    Path target = dir.resolve("a.img");
    TestData.setLength(target, 32 << 20);
    Cleanup cleanup = new Cleanup();
    try (StationProcess s =
        StationProcess.erasing(
            dir,
            image,
            dir.resolve("audit.jsonl"),
            "--http",
            "127.0.0.1:0",
            "--http-token",
            TOKEN)) {
      String served = s.await(l -> l.contains("the board is served at "), 30);
      Matcher m = Pattern.compile("(http://[^\"]+)").matcher(served);
      assertTrue(m.find(), served);
      URI page = URI.create(m.group(1));
      ChromeDriver browser = browser(dir);
      try {
        browser.get(page.toString());
        waitFor("the page to connect", () -> text(browser, "#conn").equals("live"));
        LoopDevice loop = LoopDevice.attach(target);
        cleanup.add(loop);
        // Other builds' loop devices show up too (ignored): follow this drive's row only.
        String device = loop.path().toString();
        waitFor(
            "the drive shown as done",
            () ->
                "done"
                    .equals(
                        rowOf(browser, device, "return r.querySelector('td.state').innerText;")));
        String slot = rowOf(browser, device, "return r.dataset.slot;");
        @SuppressWarnings("unchecked")
        List<String> states =
            (List<String>)
                ((JavascriptExecutor) browser)
                    .executeScript("return window.imprintHistory[arguments[0]];", slot);
        assertTrue(states.contains("writing"), states::toString);
        assertEquals("done", states.get(states.size() - 1), states::toString);
      } finally {
        browser.quit();
      }
      HttpResponse<String> stop =
          post(HttpClient.newHttpClient(), page.resolve("/api/stop"), "Bearer " + TOKEN);
      assertEquals(200, stop.statusCode(), stop::body);
      assertEquals(ExitCode.OK, s.exit(60), s::output);
    } finally {
      cleanup.run(dir);
    }
    assertEquals(
        TestData.sha256(raw, 0, 16 << 20), TestData.sha256(target, 0, 16 << 20), "target content");
  }

  @Test
  void theApiTheMetricsAndTheTokenOverHttp() throws Exception {
    Commands commands = new Commands();
    try (StationWeb web = serve(Optional.of(TOKEN), commands)) {
      Drive d = drive("sdy");
      web.event(
          new StationEvent.SlotChanged(d.slot(), "B2", d, SlotState.FAILED, "verify failed", 4096));
      HttpClient http = HttpClient.newHttpClient();
      URI base = web.address();

      HttpResponse<String> board = get(http, base.resolve("/api/board"));
      assertEquals(200, board.statusCode());
      assertTrue(board.body().contains("\"state\":\"failed\""), board.body());
      assertTrue(board.body().contains("\"firstBadOffset\":4096"), board.body());

      HttpResponse<String> metrics = get(http, base.resolve("/metrics"));
      assertTrue(
          metrics.body().contains("imprint_station_drives_total{result=\"failed\"} 1"),
          metrics.body());
      assertTrue(
          metrics.body().contains("imprint_station_slots{state=\"failed\"} 1"), metrics.body());

      assertEquals(401, post(http, base.resolve("/api/stop"), null).statusCode());
      assertEquals(401, post(http, base.resolve("/api/stop"), "Bearer not-the-token").statusCode());
      assertTrue(commands.seen.isEmpty(), "a request without the token must change nothing");
      assertEquals(200, post(http, base.resolve("/api/stop"), "Bearer " + TOKEN).statusCode());
      assertEquals("stop: stopped from the web page", commands.seen.poll(5, TimeUnit.SECONDS));
    }
    try (StationWeb readOnly = serve(Optional.empty(), commands)) {
      HttpResponse<String> r =
          post(HttpClient.newHttpClient(), readOnly.address().resolve("/api/stop"), "Bearer x");
      assertEquals(403, r.statusCode());
      assertTrue(r.body().contains("--http-token"), r.body());
    }
  }

  @Test
  void aBusyPortIsOneLine() throws Exception {
    try (StationWeb first = serve(Optional.empty(), new Commands())) {
      int port = first.address().getPort();
      var e =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.io.IOException.class,
              () ->
                  StationWeb.start(
                      system,
                      "test",
                      new StationWeb.Options(
                          new InetSocketAddress("127.0.0.1", port), Optional.empty()),
                      new Commands()));
      assertTrue(e.getMessage().contains("choose another --http port"), e.getMessage());
    }
  }

  @Test
  void httpSpecsParse() {
    assertEquals(new InetSocketAddress("127.0.0.1", 8080), StationWeb.Options.parse("8080"));
    assertEquals(new InetSocketAddress("0.0.0.0", 9000), StationWeb.Options.parse("0.0.0.0:9000"));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> StationWeb.Options.parse("localhost"));
  }

  private static StationWeb serve(Optional<String> token, StationWeb.Control control)
      throws Exception {
    return StationWeb.start(
        system,
        "/srv/images/lab.imprint",
        new StationWeb.Options(new InetSocketAddress("127.0.0.1", 0), token),
        control);
  }

  private static ChromeDriver browser(Path dir) throws Exception {
    ChromeOptions o = new ChromeOptions();
    o.setBinary("/usr/bin/chromium");
    o.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--user-data-dir=" + Files.createDirectories(dir.resolve("profile")));
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File("/usr/bin/chromedriver"))
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, o);
  }

  /** {@code script} run on the row whose device cell is {@code device} (as r), or null. */
  private static String rowOf(ChromeDriver b, String device, String script) {
    Object v =
        b.executeScript(
            "const r = [...document.querySelectorAll('tr[data-slot]')]"
                + ".find(r => r.children[1].innerText.trim() === arguments[0]);"
                + "if (!r) return null;"
                + script,
            device);
    return v == null ? null : String.valueOf(v).trim();
  }

  /** The text of the first element {@code css} selects, read in one step (the page redraws). */
  private static String text(ChromeDriver b, String css) {
    Object t =
        b.executeScript(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css);
    return String.valueOf(t).trim();
  }

  private static void waitFor(String what, Supplier<Boolean> condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (!condition.get()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static HttpResponse<String> get(HttpClient http, URI uri) throws Exception {
    return http.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(HttpClient http, URI uri, String authorization)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.noBody());
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
