// A meeting across time zones, for real: alice's app (Berlin) sends a clip to bob
// (New York) and yuki (Tokyo, 10-18) as "8 working hours each", Compose showing each
// one's own deadline on their clock; bob answers from the CLI and yuki asks for more
// time; alice's meeting grid shows bob answered and yuki pending, her Player grants
// yuki's request (yuki's CLI reads the decision and her moved deadline), and "Nudge
// pending" reaches yuki alone, once.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Key } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const SYNC = 60_000;

describe("the meeting grid and more time", { timeout: 600_000 }, () => {
  let hub;
  let alice;
  let bobHome;
  let yukiHome;
  let id;

  before(async () => {
    hub = await startHub("meeting");
    const [aliceToken, bobToken, yukiToken] = await Promise.all([
      hub.addUser("alice", "Europe/Berlin"),
      hub.addUser("bob", "America/New_York"),
      hub.addUser("yuki", "Asia/Tokyo"),
    ]);
    [bobHome, yukiHome] = await Promise.all([cliUser("bob", hub.url, bobToken), cliUser("yuki", hub.url, yukiToken)]);
    await pigeon(bobHome, "profile", "--tz", "America/New_York", "--hours", "09:00-17:00", "--days", "mon-fri");
    await pigeon(yukiHome, "profile", "--tz", "Asia/Tokyo", "--hours", "10:00-18:00", "--days", "mon-fri");
    alice = await launchApp("meeting-alice", { settings: hubSettings("alice", hub.url, aliceToken), env: { TZ: "Europe/Berlin" } });
  });

  afterEach(async (t) => {
    const slug = t.name.split(" ").slice(0, 3).join("-").replace(/[^a-z0-9-]/gi, "");
    await screenshot(alice.driver, `meeting-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await alice?.stop();
    await hub?.stop();
  });

  it("Compose gives bob and yuki 8 working hours each, each deadline on their own clock", async () => {
    const a = ui(alice.driver);
    await a.click("record-button");
    await a.until(() => document.querySelector("[data-testid=camera-select]")?.value === "test-pattern", WAIT, "the test pattern to be chosen");
    await a.startRecording();
    await a.waitSeconds("elapsed", 1, 15_000);
    await a.click("record-stop");
    await a.find("compose");
    await a.type("recipient-input", `bob${Key.ENTER}`);
    await a.type("recipient-input", `yuki${Key.ENTER}`);
    await a.find("recipient-yuki");
    await a.type("subject-input", "Budget review");
    await a.click("respond-by-working-hours");
    await a.waitText("respond-by-summary", "8 hours of their own working time");
    // Each clock shows that recipient's own deadline, inside their hours.
    const yukiDue = await a.waitText("[data-testid=recipient-clock-yuki] [data-testid=clock-respond-by]", /^respond by .* for yuki$/);
    await a.waitText("[data-testid=recipient-clock-bob] [data-testid=clock-respond-by]", /^respond by .* for bob$/);
    assert.doesNotMatch(await (await a.find("recipient-clock-yuki")).getAttribute("class"), /outside-hours/, yukiDue);
    await a.waitText("upload-status", "Clip uploaded", 30_000);
    await alice.driver.executeScript(() => document.querySelector("[data-testid=recipient-clocks]")?.scrollIntoView({ block: "center" }));
    await screenshot(alice.driver, "meeting-1-compose-working-hours");
    await a.click("send-button");
    await a.find("sent");
    await a.until(() => document.querySelector("[data-testid=sent-delivery]")?.dataset.delivery === "sent", 30_000, "the message to be sent");
    id = await alice.driver.executeScript(() => document.querySelector("[data-testid=sent-item]")?.dataset.id);
    assert.ok(id, "the sent message's id");

    // Each recipient's inbox has their own deadline, yuki's by Tokyo hours.
    await pigeon(bobHome, "sync");
    await pigeon(yukiHome, "sync");
    const due = async (home) => (await pigeon(home, "inbox")).find((m) => m.id === id).respond_by;
    const [bobDue, yukiDueAt] = [await due(bobHome), await due(yukiHome)];
    const hourIn = (zone, at) => Number(new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", hourCycle: "h23" }).format(new Date(at)));
    const bobHour = hourIn("America/New_York", bobDue);
    const yukiHour = hourIn("Asia/Tokyo", yukiDueAt);
    assert.ok(bobHour >= 9 && bobHour <= 17, `bob's deadline ${bobDue} is in his hours`);
    assert.ok(yukiHour >= 10 && yukiHour <= 18, `yuki's deadline ${yukiDueAt} is in her hours`);
  });

  it("the grid shows bob answered and yuki pending; alice grants yuki more time from the Player", async () => {
    const a = ui(alice.driver);
    await pigeon(bobHome, "reply", id, "--text", "The numbers look right.");
    const yukiDue = (await pigeon(yukiHome, "inbox")).find((m) => m.id === id).respond_by;
    const until = new Date(new Date(yukiDue).getTime() + 24 * 3600 * 1000).toISOString();
    const asked = await pigeon(yukiHome, "more-time", id, "--until", until, "--note", "travelling on Thursday");
    assert.equal(asked.extensions[0].state, "asked");

    await a.click("sent-meeting");
    await a.find("meeting-grid");
    await a.until(
      () => document.querySelector("[data-testid=meeting-cell-bob]")?.dataset.state === "answered",
      SYNC,
      "bob's answer to reach the grid",
    );
    assert.equal(await alice.driver.executeScript(() => document.querySelector("[data-testid=meeting-cell-yuki]").dataset.state), "pending");
    await a.waitText("meeting-cell-bob", "The numbers look right.");
    await a.waitText("meeting-their-clock-yuki", / for yuki$/);
    await a.waitText("meeting-open", /^Open until /);
    await screenshot(alice.driver, "meeting-2-grid");

    // The answer opens from its cell; back, then the message itself for More time.
    await a.click("[data-testid=meeting-cell-bob] button");
    await a.find("player");
    await alice.driver.navigate().back();
    await a.click("meeting-back");
    await a.click(`[data-testid=sent-item][data-id="${id}"]`);
    await a.until(() => document.querySelector("[data-testid=extension]")?.dataset.state === "asked", SYNC, "yuki's request in the Player");
    await a.waitText("extension", "yuki asks for more time until");
    await a.type("extension-answer-note", "Of course");
    await screenshot(alice.driver, "meeting-3-request");
    await a.click("extension-grant");
    await a.waitText("more-time-feedback", "Gave yuki more time.");
    await a.until(() => document.querySelector("[data-testid=extension]")?.dataset.state === "granted", SYNC, "the grant to show");

    await pigeon(yukiHome, "sync");
    const decided = await pigeon(yukiHome, "more-time", id);
    assert.equal(decided.extensions[0].state, "granted", JSON.stringify(decided));
    assert.equal(decided.extensions[0].answer_note, "Of course");
    assert.equal(new Date(decided.my_deadline).getTime(), new Date(until).getTime());
  });

  it("Nudge pending reaches yuki alone, once", async () => {
    const a = ui(alice.driver);
    await a.click("player-meeting");
    await a.find("meeting-grid");
    await a.waitText("meeting-participant-yuki", "more time given");
    await a.click("meeting-nudge");
    await a.waitText("meeting-feedback", "Nudged yuki.");
    await a.until(() => document.querySelector("[data-testid=meeting-nudge]")?.disabled, WAIT, "nobody left to nudge");
    await a.waitText("meeting-participant-yuki", "nudged");
    await screenshot(alice.driver, "meeting-4-nudged");
  });
});
