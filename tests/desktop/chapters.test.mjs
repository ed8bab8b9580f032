// Chapters, for real: alice's app records the test pattern along a typed agenda of
// three items (kept when a first take is re-recorded from Compose), starts the second with the N key and the third with the "Next item"
// button, renames one in Compose and sends to bob (a CLI user on the same hub), asking
// for an acknowledgement only; bob's `show` lists the three chapters at increasing
// starts; bob comments at 0:03 and alice's app announces "bob commented at 0:03 on
// Budget review"; bob's ✅ is announced too, and counts as his answer. Then a quick
// recording from the global shortcut, without an agenda, marks "Item 2" and "Item 3"
// from the small recorder window, a trim in Compose moves them with the clip, and one
// more is added in Compose where the clip is.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, afterEach, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { By, Key } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const run = promisify(execFile);

describe("chapters marked while recording reach the recipient, and a comment at a moment is announced", { timeout: 600_000 }, () => {
  let hub;
  let alice;
  let bobHome;
  let messageId;
  let main;

  before(async () => {
    hub = await startHub("chapters");
    const [aliceToken, bobToken] = await Promise.all(["alice", "bob"].map((u) => hub.addUser(u)));
    bobHome = await cliUser("bob", hub.url, bobToken);
    alice = await launchApp("chapters-alice", { settings: hubSettings("alice", hub.url, aliceToken) });
    main = await alice.driver.getWindowHandle();
  });

  afterEach(async (t) => {
    await alice.driver.switchTo().window(main).catch(() => {});
    const slug = t.name.split(" ").slice(0, 3).join("-").replace(/[^a-z0-9-]/gi, "");
    await screenshot(alice.driver, `chapters-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await alice?.stop();
    await hub?.stop();
  });

  it("alice records along an agenda, marks the next items by key and by button, renames one and sends", async () => {
    const a = ui(alice.driver);
    await a.click("record-button");
    await a.find("camera-select");
    await a.until(() => document.querySelector("[data-testid=camera-select]")?.value === "test-pattern", WAIT, "the test pattern to be chosen");
    await a.type("agenda-input", `Budget${Key.ENTER}Hiring${Key.ENTER}Q3`);
    await a.until(() => document.querySelector("[data-testid=agenda-input]")?.value === "Budget\nHiring\nQ3", WAIT, "the agenda to be typed");
    await screenshot(alice.driver, "chapters-1-record-agenda");

    // A first take, re-recorded from Compose: the new take starts from the agenda typed.
    await a.startRecording();
    await a.waitText("record-chapter", "Item 1 of 3: Budget");
    await a.waitSeconds("elapsed", 1, 15_000);
    await a.click("record-stop");
    await a.find("compose");
    await a.click("compose-rerecord");
    await a.until(() => document.querySelector("[data-testid=agenda-input]")?.value === "Budget\nHiring\nQ3", WAIT, "the agenda kept for the new take");
    await a.until(() => document.querySelector("[data-testid=camera-select]")?.value === "test-pattern", WAIT, "the test pattern still chosen");

    await a.startRecording();
    await a.waitText("record-chapter", "Item 1 of 3: Budget");
    // The agenda cannot change while recording.
    assert.equal(await (await a.find("agenda-input")).isEnabled(), false);
    await a.waitSeconds("elapsed", 2, 15_000);
    // N anywhere in the window (no text field has the focus) is "Next item".
    await alice.driver.executeScript(() => document.activeElement?.blur());
    await alice.driver.actions().sendKeys("n").perform();
    await a.waitText("record-chapter", "Item 2 of 3: Hiring");
    await a.waitSeconds("elapsed", 4, 15_000);
    await a.click("record-next");
    await a.waitText("record-chapter", "Item 3 of 3: Q3");
    await screenshot(alice.driver, "chapters-2-recording");
    await a.waitSeconds("elapsed", 6, 15_000);
    await a.click("record-stop");

    await a.find("compose");
    await a.until(() => document.querySelectorAll("[data-testid=draft-chapter]").length === 3, WAIT, "three chapters in Compose");
    const titles = await alice.driver.executeScript(() => [...document.querySelectorAll("[data-testid=draft-chapter-title]")].map((i) => i.value));
    assert.deepEqual(titles, ["Budget", "Hiring", "Q3"]);
    const times = await alice.driver.executeScript(() => [...document.querySelectorAll("[data-testid=draft-chapter-at]")].map((b) => b.textContent));
    assert.equal(times[0], "0:00");
    for (const time of times.slice(1)) assert.match(time, /^0:0\d(\.\d)?$/);
    // A title typed in Compose is saved when the field is left.
    const third = (await alice.driver.findElements(By.css("[data-testid=draft-chapter-title]")))[2];
    await third.sendKeys(Key.END, " plans", Key.TAB);
    await a.until(
      () => document.querySelector("[data-testid=draft-chapter-remove][aria-label='Remove chapter 3, Q3 plans']"),
      WAIT,
      "the renamed chapter to be saved",
    );

    await a.type("recipient-input", `bob${Key.ENTER}`);
    await a.find("recipient-bob");
    await a.type("subject-input", "Budget review");
    // Alice asks for no more than a ✅.
    await a.click("acknowledge-only");
    assert.equal(await (await a.find("acknowledge-only")).isSelected(), true);
    await a.waitText("upload-status", "Clip uploaded", 30_000);
    await alice.driver.executeScript(() => document.querySelector("[data-testid=draft-chapter-list]")?.scrollIntoView({ block: "center" }));
    await screenshot(alice.driver, "chapters-3-compose");
    await a.click("send-button");
    await a.find("sent");
    await a.until(() => document.querySelector("[data-testid=sent-delivery]")?.dataset.delivery === "sent", 30_000, "the message to be sent");
  });

  it("bob's show lists the three chapters at increasing starts", async () => {
    await pigeon(bobHome, "sync");
    const inbox = await pigeon(bobHome, "inbox");
    const item = inbox.find((m) => m.subject === "Budget review");
    assert.ok(item, `Budget review in bob's inbox: ${JSON.stringify(inbox)}`);
    messageId = item.id;
    const shown = await pigeon(bobHome, "show", messageId);
    const chapters = shown.message.chapters;
    assert.deepEqual(
      chapters.map((c) => c.title),
      ["Budget", "Hiring", "Q3 plans"],
    );
    assert.equal(chapters[0].start_ms, 0);
    // Marked at 2 s and 4 s or later on the timer, a second or more apart.
    assert.ok(chapters[1].start_ms >= 1500, `chapter 2 starts at ${chapters[1].start_ms} ms`);
    assert.ok(chapters[2].start_ms - chapters[1].start_ms >= 1500, `chapters at ${chapters.map((c) => c.start_ms)}`);
    assert.ok(chapters[2].start_ms < shown.message.duration_ms, `chapter 3 within the clip of ${shown.message.duration_ms} ms`);
    assert.equal(shown.message.acknowledge_only, true);
  });

  it("bob comments at 0:03 on the second chapter and alice is told", async () => {
    await pigeon(bobHome, "reply", messageId, "--text", "Which quarter is this?", "--at", "0:03", "--chapter", "2");
    let log = "";
    await alice.driver
      .wait(() => /notification title="bob commented at 0:03 on Budget review"/.test((log = readFileSync(alice.logPath, "utf8"))), 60_000)
      .catch((error) => {
        const told = log.split("\n").filter((l) => l.includes("notification"));
        throw new Error(`no notification of the comment (${error.message}); notifications given: ${JSON.stringify(told)}`);
      });
    const told = log.split("\n").filter((l) => l.includes('title="bob commented at 0:03 on Budget review"'));
    assert.equal(told.length, 1, `told ${told.length} times`);
    assert.match(told[0], /body="Which quarter is this\?"/);
  });

  it("bob's ✅ answers the acknowledge-only message: alice is told, and her Sent shows him responded", async () => {
    const a = ui(alice.driver);
    await a.click("nav-sent");
    await a.find("recipient-state-bob");
    // The comment was no answer.
    assert.notEqual(await (await a.find("recipient-state-bob")).getAttribute("data-state"), "responded");
    await pigeon(bobHome, "react", messageId, "check");
    await alice.driver.wait(() => /notification title="bob reacted ✅ on Budget review"/.test(readFileSync(alice.logPath, "utf8")), 60_000, "the reaction's notification");
    await a.until(() => document.querySelector("[data-testid=recipient-state-bob]")?.dataset.state === "responded", 60_000, "bob to be responded");
  });

  it("the small recorder of a quick recording marks the next items by N and by its button", async () => {
    await run("xdotool", ["key", "--clearmodifiers", "ctrl+shift+alt+r"]);
    const handle = await alice.driver.wait(
      async () => (await alice.driver.getAllWindowHandles()).find((h) => h !== main),
      WAIT,
      "the recorder window",
    );
    await alice.driver.switchTo().window(handle);
    const q = ui(alice.driver);
    await q.waitSeconds("quick-elapsed", 1, 30_000);
    // Without an agenda, nothing is marked until the first "Next item".
    assert.equal(await (await q.find("quick-chapter")).getAttribute("textContent"), "");
    await alice.driver.actions().sendKeys("n").perform();
    await q.waitText("quick-chapter", /^Item 2$/);
    await q.waitSeconds("quick-elapsed", 3, 30_000);
    // Clicked from the page: a WebDriver click in the recorder window can hang under load (see screen.test.mjs).
    await alice.driver.executeScript(() => document.querySelector("[data-testid=quick-next]").click());
    await q.waitText("quick-chapter", /^Item 3$/);
    await screenshot(alice.driver, "chapters-4-recorder");
    await q.waitSeconds("quick-elapsed", 4, 30_000);
    await alice.driver.executeScript(() => document.querySelector("[data-testid=quick-stop]").click());

    await alice.driver.switchTo().window(main);
    const a = ui(alice.driver);
    await a.find("compose");
    await a.until(() => document.querySelectorAll("[data-testid=draft-chapter]").length === 3, WAIT, "three chapters in Compose");
    const titles = await alice.driver.executeScript(() => [...document.querySelectorAll("[data-testid=draft-chapter-title]")].map((i) => i.value));
    assert.deepEqual(titles, ["Item 1", "Item 2", "Item 3"]);

    // A trim moves the chapters with the clip: half a second off the start.
    const ms = (at) => {
      const [m, s] = at.split(":");
      return Math.round((Number(m) * 60 + Number(s)) * 1000);
    };
    const startsOf = () => alice.driver.executeScript(() => [...document.querySelectorAll("[data-testid=draft-chapter-at]")].map((b) => b.textContent));
    const marked = (await startsOf()).map(ms);
    await a.waitText("trim-summary", /Length/, 30_000);
    const start = await a.find("trim-start");
    await start.sendKeys(Key.ARROW_RIGHT, Key.ARROW_RIGHT, Key.ARROW_RIGHT, Key.ARROW_RIGHT, Key.ARROW_RIGHT);
    assert.equal(await start.getAttribute("aria-valuenow"), "500");
    await a.click("trim-button");
    await a.waitText("trim-done", "Trimmed", 60_000);
    await alice.driver.wait(async () => ms((await startsOf())[1] ?? "0:00") !== marked[1], WAIT, "the chapters to follow the trim");
    const trimmed = (await startsOf()).map(ms);
    assert.deepEqual(trimmed, [0, marked[1] - 500, marked[2] - 500], `chapters at ${marked} before the trim`);

    // A chapter added in Compose, where the clip is, between the second and the third.
    const between = (trimmed[1] + trimmed[2]) / 2000;
    await alice.driver.executeScript((at) => {
      const v = document.querySelector("[data-testid=compose-video]");
      v.pause();
      v.currentTime = at;
    }, between);
    await a.click("draft-chapter-add");
    await a.until(() => document.querySelectorAll("[data-testid=draft-chapter]").length === 4, WAIT, "four chapters");
    const added = await alice.driver.switchTo().activeElement();
    assert.equal(await added.getAttribute("value"), "Item 3");
    await added.sendKeys("Demo", Key.TAB);
    await a.until(
      () => document.querySelector("[data-testid=draft-chapter-remove][aria-label='Remove chapter 3, Demo']"),
      WAIT,
      "the added chapter to be named",
    );
    await alice.driver.executeScript(() => document.querySelector("[data-testid=draft-chapter-list]")?.scrollIntoView({ block: "center" }));
    await screenshot(alice.driver, "chapters-5-compose-added");
  });
});
