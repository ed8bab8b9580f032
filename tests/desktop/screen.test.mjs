// Screen recording in the desktop app, for real: alice records the test display
// (Xvfb, 1920x1080) with the synthetic camera in a bubble from the Record screen;
// the main window steps aside and the small recorder stays, where she moves the
// bubble; Stop goes on to Compose, where she trims both ends off and sends to bob,
// who receives exactly the trimmed 1080p clip. Then the global shortcut starts a
// recording with the same (last used) layout.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Key } from "selenium-webdriver";
import { artifactsDir, launchApp, screenshot } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const run = promisify(execFile);

/** Ids of the windows on the display whose title matches `title` (a regex for xdotool). */
async function visibleWindows(title) {
  const found = await run("xdotool", ["search", "--onlyvisible", "--name", title]).catch(() => ({ stdout: "" }));
  return found.stdout.trim().split("\n").filter(Boolean);
}

/**
 * Clicks a button of the recorder window from its page. A WebDriver click there
 * now and then never returned while the window drew 1080p previews under load
 * (seen twice in a dozen runs); the main window's clicks stay WebDriver clicks.
 */
async function press(driver, testid) {
  const clicked = await driver.executeScript((id) => {
    const el = document.querySelector(`[data-testid=${id}]`);
    if (!el || el.disabled) return false;
    el.click();
    return true;
  }, testid);
  assert.ok(clicked, `${testid} is there and enabled`);
}

/** A PNG of the whole display (not only the app's page), under target/test-artifacts/. */
async function displayShot(name) {
  const file = path.join(artifactsDir, `${name}.png`);
  await run("ffmpeg", ["-loglevel", "error", "-y", "-f", "x11grab", "-video_size", "1920x1080", "-i", process.env.DISPLAY, "-frames:v", "1", file]);
  return file;
}

async function probe(file) {
  const { stdout } = await run("ffprobe", [
    "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height:format=duration", "-of", "json", file,
  ]);
  const info = JSON.parse(stdout);
  return { width: info.streams[0].width, height: info.streams[0].height, seconds: Number(info.format.duration) };
}

/**
 * Mean luma of the four corner squares (a fifth of the height each) of the picture
 * at `seconds` into `file`, from a 192x108 grey decode.
 */
async function cornerLuma(file, seconds) {
  const { stdout } = await run(
    "ffmpeg",
    ["-loglevel", "error", "-ss", String(seconds), "-i", file, "-frames:v", "1", "-vf", "scale=192:108", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
    { encoding: "buffer", maxBuffer: 1 << 20 },
  );
  const [w, h, side] = [192, 108, 22];
  const mean = (x0, y0) => {
    let sum = 0;
    for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) sum += stdout[y * w + x];
    return sum / (side * side);
  };
  return {
    "top-left": mean(0, 0),
    "top-right": mean(w - side, 0),
    "bottom-left": mean(0, h - side),
    "bottom-right": mean(w - side, h - side),
  };
}

describe("screen + camera: record, move the bubble, trim and send", { timeout: 600_000 }, () => {
  let hub;
  let alice;
  let bobHome;
  let main;
  let untrimmedMs = 0;
  let keptMs = 0;

  before(async () => {
    hub = await startHub("screen");
    const [aliceToken, bobToken] = await Promise.all([hub.addUser("alice"), hub.addUser("bob")]);
    bobHome = await cliUser("bob", hub.url, bobToken);
    // The synthetic camera (test pattern) shows in the bubble.
    alice = await launchApp("screen-alice", { settings: hubSettings("alice", hub.url, aliceToken) });
    main = await alice.driver.getWindowHandle();
  });

  afterEach(async (t) => {
    const slug = t.name.split(" ").slice(0, 3).join("-").replace(/[^a-z0-9-]/gi, "");
    await alice.driver.switchTo().window(main).catch(() => {});
    await screenshot(alice.driver, `screen-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await alice?.stop();
    await hub?.stop();
  });

  /** Switches to the recorder window once it exists. */
  async function toRecorder() {
    const handle = await alice.driver.wait(
      async () => (await alice.driver.getAllWindowHandles()).find((h) => h !== main),
      WAIT,
      "the recorder window",
    );
    await alice.driver.switchTo().window(handle);
  }

  it("records the screen with the camera in a bubble from the Record screen; the main window steps aside", async () => {
    const a = ui(alice.driver);
    await a.click("record-button");
    await a.click("layout-screen-camera");
    // The picker lists the display and draws its thumbnail.
    await a.until(() => document.querySelectorAll("[data-testid=screen-option]").length > 0, WAIT, "the screens and windows");
    await a.click("[data-testid=screen-option][data-id=screen]");
    await a.until(
      () => document.querySelector("[data-testid=screen-option][data-id=screen]")?.getAttribute("aria-pressed") === "true",
      WAIT,
      "the whole screen to be chosen",
    );
    await a.until(() => document.querySelector("[data-testid=screen-option][data-id=screen] canvas")?.dataset.drawn === "true", WAIT, "the screen's thumbnail");
    await a.find("bubble-corner");
    assert.equal(await (await a.find("bubble-corner")).getAttribute("value"), "bottom-right");
    // Computer sound brings its two level sliders; unticked again, they go.
    await a.click("computer-sound");
    assert.equal(await (await a.find("mix-microphone-level")).getAttribute("value"), "100");
    assert.equal(await (await a.find("mix-computer-level")).getAttribute("value"), "100");
    await a.click("computer-sound");
    await a.until(() => !document.querySelector("[data-testid=mix-computer-level]"), WAIT, "the level sliders to go");
    await screenshot(alice.driver, "screen-1-record-layout");

    assert.ok((await visibleWindows("^Pigeon$")).length > 0, "the main window shows before recording");
    await a.click("record-start");
    await alice.driver.wait(async () => (await visibleWindows("^Pigeon$")).length === 0, 30_000, "the main window to step aside");
    await alice.driver.wait(async () => (await visibleWindows("^Pigeon — recorder$")).length > 0, WAIT, "the recorder window to show");

    await toRecorder();
    const q = ui(alice.driver);
    await q.waitSeconds("quick-elapsed", 2, 30_000);
    await q.until(() => {
      const c = document.querySelector("[data-testid=quick-preview]");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      return px.some((v, i) => i % 4 !== 3 && v > 0);
    }, WAIT, "the composite's preview in the recorder");
    // The preview is the composite: the screen's aspect (16:9), not the camera's.
    const size = await alice.driver.executeScript(() => {
      const c = document.querySelector("[data-testid=quick-preview]");
      return [c.width, c.height];
    });
    assert.deepEqual(size, [320, 180]);
    await q.until(() => !document.querySelector("[data-testid=bubble-corners]")?.hidden, WAIT, "the bubble's corner buttons");
    assert.equal(await (await q.find("bubble-corner-bottom-right")).getAttribute("aria-pressed"), "true");
    await displayShot("screen-2-display-recording");
    await screenshot(alice.driver, "screen-2-recorder");

    await press(alice.driver, "bubble-corner-top-left");
    await q.until(() => document.querySelector("[data-testid=bubble-corner-top-left]")?.getAttribute("aria-pressed") === "true", WAIT, "the bubble to move");
    await press(alice.driver, "quick-pause");
    await q.waitText("quick-pause", "Resume");
    await press(alice.driver, "quick-pause");
    await q.waitText("quick-pause", "Pause");
    await q.waitSeconds("quick-elapsed", 7, 30_000);
    await displayShot("screen-3-display-bubble-moved");
    await press(alice.driver, "quick-stop");

    // Stop goes on to Compose in the main window, which is back.
    await alice.driver.switchTo().window(main);
    await a.find("compose");
    await alice.driver.wait(async () => (await visibleWindows("^Pigeon$")).length > 0, WAIT, "the main window to come back");
    assert.equal((await visibleWindows("^Pigeon — recorder$")).length, 0, "the recorder window is gone");
  });

  it("trims both ends off in Compose with the keyboard, and sends the trimmed clip", async () => {
    const a = ui(alice.driver);
    await a.waitText("trim-summary", /Length/, 30_000);
    untrimmedMs = Number(await (await a.find("trim-end")).getAttribute("aria-valuemax"));
    assert.ok(untrimmedMs >= 6500, `the clip is ${untrimmedMs} ms long`);
    await a.until(() => [...document.querySelectorAll("[data-testid=trim-filmstrip] img")].filter((i) => i.naturalWidth > 0).length >= 5, 30_000, "the clip's pictures in the scrubber");
    assert.equal(await (await a.find("trim-button")).getAttribute("disabled"), "true", "nothing to trim yet");

    // The handles are keyboard sliders: a page key moves a second, an arrow a tenth.
    const start = await a.find("trim-start");
    await start.sendKeys(Key.PAGE_UP, Key.PAGE_UP, Key.ARROW_RIGHT);
    const end = await a.find("trim-end");
    await end.sendKeys(Key.PAGE_DOWN, Key.ARROW_LEFT, Key.ARROW_LEFT);
    assert.equal(await start.getAttribute("aria-valuenow"), "2100");
    assert.equal(await end.getAttribute("aria-valuenow"), String(untrimmedMs - 1200));
    assert.equal(await start.getAttribute("aria-valuetext"), "0:02.1");
    keptMs = untrimmedMs - 1200 - 2100;
    await a.waitText("trim-summary", `Start 0:02.1`);
    await screenshot(alice.driver, "screen-4-trim-chosen");

    await a.click("trim-button");
    await a.waitText("trim-done", "Trimmed", 60_000);
    // The scrubber, the length and the player follow the trimmed clip.
    await a.until(
      () => Number(document.querySelector("[data-testid=trim-end]")?.getAttribute("aria-valuemax")) > 0,
      WAIT,
      "the trimmed length",
    );
    const trimmedMs = Number(await (await a.find("trim-end")).getAttribute("aria-valuemax"));
    assert.ok(Math.abs(trimmedMs - keptMs) <= 100, `trimmed to ${trimmedMs} ms, asked for ${keptMs} ms`);
    await a.until(() => {
      const v = document.querySelector("[data-testid=compose-video]");
      return v?.readyState >= 1 && Math.abs(v.duration * 1000 - Number(v.dataset.durationMs)) < 200;
    }, 30_000, "the player to load the trimmed clip");
    await screenshot(alice.driver, "screen-5-trimmed");

    await a.type("recipient-input", `bob${Key.ENTER}`);
    await a.find("recipient-bob");
    await a.type("subject-input", "The agenda, on screen");
    await a.waitText("upload-status", "Clip uploaded", 30_000);
    await a.click("send-button");
    await a.find("sent");
    await a.until(() => document.querySelector("[data-testid=sent-delivery]")?.dataset.delivery === "sent", 30_000, "the message to be sent");

    await pigeon(bobHome, "sync");
    const inbox = await pigeon(bobHome, "inbox");
    const message = inbox.find((m) => m.subject === "The agenda, on screen");
    assert.ok(message, `bob's inbox: ${JSON.stringify(inbox)}`);
    const fetched = await pigeon(bobHome, "fetch", message.id);
    const clip = await probe(fetched.clip);
    console.log(`sent clip: ${clip.width}x${clip.height}, ${clip.seconds.toFixed(3)} s (recorded ${untrimmedMs} ms, kept ${keptMs} ms)`);
    assert.equal(clip.height, 1080);
    assert.ok(clip.width >= 1900 && clip.width <= 1920, `width ${clip.width}`);
    assert.ok(Math.abs(clip.seconds * 1000 - keptMs) <= 150, `bob's clip lasts ${clip.seconds} s, ${keptMs} ms were kept`);
    assert.ok(clip.seconds * 1000 < untrimmedMs - 2500, "bob's clip is the trimmed one");
    // Its last picture has the bubble where alice moved it: the test pattern in the
    // top left, the other corners showing the (black) desktop; the recorder window
    // sits at the bottom centre, clear of every corner.
    const corners = await cornerLuma(fetched.playable ?? fetched.clip, Math.max(0, clip.seconds - 0.5));
    console.log(`corner luma at the end: ${JSON.stringify(corners)}`);
    for (const corner of ["top-right", "bottom-left", "bottom-right"]) {
      assert.ok(corners[corner] < 20, `${corner} is the desktop: ${JSON.stringify(corners)}`);
    }
    assert.ok(corners["top-left"] > 40, `the bubble is in the top left: ${JSON.stringify(corners)}`);
  });

  it("starts a screen + camera recording from the global shortcut with the last used layout", async () => {
    await run("xdotool", ["key", "--clearmodifiers", "ctrl+shift+alt+r"]);
    await toRecorder();
    const q = ui(alice.driver);
    await q.waitSeconds("quick-elapsed", 2, 30_000);
    // The bubble starts where it was last put.
    await q.until(() => !document.querySelector("[data-testid=bubble-corners]")?.hidden, WAIT, "the bubble's corner buttons");
    assert.equal(await (await q.find("bubble-corner-top-left")).getAttribute("aria-pressed"), "true");
    await alice.driver.wait(async () => (await visibleWindows("^Pigeon$")).length === 0, WAIT, "the main window to step aside");
    await displayShot("screen-6-display-from-shortcut");
    await q.waitSeconds("quick-elapsed", 3, 30_000);
    await press(alice.driver, "quick-stop");
    await alice.driver.switchTo().window(main);
    const a = ui(alice.driver);
    await a.find("compose");
    await a.until(() => document.querySelector("[data-testid=compose-video]")?.readyState >= 1, 30_000, "the recorded clip to load");
    const size = await alice.driver.executeScript(() => {
      const v = document.querySelector("[data-testid=compose-video]");
      return [v.videoWidth, v.videoHeight];
    });
    assert.equal(size[1], 1080, `the shortcut's recording is ${size.join("x")}`);
    await screenshot(alice.driver, "screen-7-shortcut-compose");
  });

  it("logged no errors", () => {
    const log = readFileSync(alice.logPath, "utf8");
    const errors = log.split("\n").filter((line) => /\bERROR\b/.test(line));
    assert.deepEqual(errors, []);
  });
});
