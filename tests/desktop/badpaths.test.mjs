// What a user meets when things are missing or away: no camera (said plainly,
// audio only offered), and a hub that is down when they send (the message waits
// in the outbox, shown as pending, and goes once the hub is back).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, afterEach, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Key } from "selenium-webdriver";
import { launchApp, screenshot, settingsToml } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const run = promisify(execFile);

describe("no camera", { timeout: 300_000 }, () => {
  let app;

  before(async () => {
    // No camera chosen, and this machine has none.
    app = await launchApp("no-camera", {
      settings: settingsToml("dana", { path: "/tmp/pigeon-e2e-no-camera" }, { camera: null }),
    });
  });

  afterEach(async (t) => {
    await screenshot(app.driver, `no-camera-end-${t.name.split(" ").slice(0, 3).join("-")}`).catch(() => {});
  });

  after(async () => {
    await app?.stop();
  });

  it("says so when quick record is asked for, and offers audio only", async () => {
    const u = ui(app.driver);
    await u.find("inbox");
    await run("xdotool", ["key", "--clearmodifiers", "ctrl+shift+alt+r"]);
    const said = await u.waitText("quick-record-problem", "No camera was found");
    assert.match(said, /Record audio only/);
    await u.waitText("no-camera", "No camera");
    await screenshot(app.driver, "no-camera-said");
    await u.click("use-audio-only");
    // The choice is saved and the screen drawn again from it: the warning gives way
    // to a note (waiting for this keeps the next click off a moving layout).
    await u.find("no-camera-note");
    await u.until(() => document.querySelector("[data-testid=camera-select]")?.value === "none", WAIT, "audio only to be chosen");
  });

  it("records audio only and goes on to Compose", async () => {
    const u = ui(app.driver);
    await u.startRecording();
    await u.waitSeconds("elapsed", 2, 20_000);
    await u.until(() => Number(document.querySelector("[data-testid=meter]")?.getAttribute("aria-valuenow") ?? -100) > -60, WAIT, "the level meter to hear the microphone");
    await u.click("record-stop");
    await u.find("compose");
    await u.until(() => document.querySelector("[data-testid=compose-video]")?.readyState >= 1, WAIT, "the audio-only clip to load");
    await screenshot(app.driver, "no-camera-compose");
  });
});

describe("hub unreachable while sending", { timeout: 300_000 }, () => {
  let hub;
  let app;
  let bobHome;

  before(async () => {
    hub = await startHub("offline");
    const [aliceToken, bobToken] = await Promise.all([hub.addUser("alice"), hub.addUser("bob")]);
    bobHome = await cliUser("bob", hub.url, bobToken);
    app = await launchApp("offline-alice", { settings: hubSettings("alice", hub.url, aliceToken) });
  });

  afterEach(async (t) => {
    await screenshot(app.driver, `offline-end-${t.name.split(" ").slice(0, 3).join("-")}`).catch(() => {});
  });

  after(async () => {
    await app?.stop();
    await hub?.stop();
  });

  it("queues the message and shows it as pending while the hub is down", async () => {
    const u = ui(app.driver);
    await u.find("inbox");
    await hub.stop();
    await u.click("record-button");
    await u.startRecording();
    await u.waitSeconds("elapsed", 2, 20_000);
    await u.click("record-stop");
    await u.find("compose");
    await u.type("recipient-input", `bob${Key.ENTER}`);
    await u.find("recipient-bob");
    await u.type("subject-input", "Sent while the hub was down");
    await u.click("send-button");
    await u.find("sent");
    await u.until(() => document.querySelector("[data-testid=sent-delivery]")?.dataset.delivery === "sending", WAIT, "the message to wait in the outbox");
    await u.waitText("statusbar", /Offline: .*Nothing is lost/, 60_000);
    await u.waitText("sent-problem", "Waiting to send", 30_000);
    await screenshot(app.driver, "offline-pending");
  });

  it("delivers it once when the hub is back", async () => {
    hub = await startHub("offline", { data: hub.data, port: hub.port });
    const u = ui(app.driver);
    await u.until(() => document.querySelector("[data-testid=sent-delivery]")?.dataset.delivery === "sent", 90_000, "delivery after the hub came back");
    await screenshot(app.driver, "offline-delivered");
    await pigeon(bobHome, "sync");
    const inbox = await pigeon(bobHome, "inbox");
    assert.equal(inbox.filter((m) => m.subject === "Sent while the hub was down").length, 1);
  });
});

describe("readable at 150% scaling", { timeout: 300_000 }, () => {
  let app;

  before(async () => {
    app = await launchApp("scaled", {
      settings: settingsToml("erin", { path: "/tmp/pigeon-e2e-scaled" }),
    });
  });

  after(async () => {
    await app?.stop();
  });

  it("lays out every main screen without sideways scrolling", async () => {
    const u = ui(app.driver);
    // 150% as a desktop's scale factor shows it: every CSS pixel drawn 1.5 times as large.
    await u.find("inbox");
    await app.driver.executeScript(() => (document.documentElement.style.zoom = "1.5"));
    for (const [screen, testid] of [
      ["inbox", "inbox"],
      ["record", "record"],
      ["settings", "settings"],
      ["sent", "sent"],
    ]) {
      await app.driver.executeScript((s) => (window.location.hash = `#/${s}`), screen);
      await u.find(testid);
      await u.find("[data-testid=statusbar]");
      await screenshot(app.driver, `scaled-150-${screen}`);
      // Sub-pixel rounding may leave one pixel; anything more is a layout that does not fit.
      const overflow = await app.driver.executeScript(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${screen} scrolls sideways by ${overflow} px`);
    }
  });
});
