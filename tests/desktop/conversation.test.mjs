// The Player as a conversation, for real: alice (the CLI) records a clip with an agenda
// of three items, marking the next item twice while it records, and sends it to bob
// (the desktop app) and carol (the CLI) through a real hub. Carol reacts 👀 and
// comments at 0:03 on chapter 2. Bob's Player shows the chapter ticks and carol's
// marker on the seek bar; a click on the marker puts the video at 3 s; the thread
// lists the comment and the reaction; bob reacts ✅ and types a text answer under the
// clip without leaving the Player, and alice's sync tells her "bob replied to …" and
// her `pigeon thread` shows it all. Carol's comment opens as text, its time opens the
// clip there, and a reaction given meanwhile shows in the open Player, and goes from it
// when taken back.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, afterEach, before, describe, it } from "node:test";
import { createInterface } from "node:readline";
import { Key } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";
import { cliBinary, cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const SUBJECT = "Budget review";
const COMMENT = "which quarter is this?";
const ANSWER = "Agreed, see page 3.";

/**
 * `pigeon record` of the test pattern with an agenda, as a user at a terminal would
 * run it: a line `n` on its input starts the next item. Each press is answered by a
 * line: the mark ("chapter 2 at 0:01: Hiring"), or a refusal when it comes too soon
 * after the previous one, and then it is pressed again. Once the marks are made and
 * `fragments` fragments (about a second each) are on disk, Ctrl-C stops it: the test
 * ends the recording, not a clock a loaded machine outruns. Resolves to the draft id
 * and the chapter lines printed.
 */
async function recordWithChapters(home, titles, marks, fragments) {
  const child = spawn(cliBinary, ["record", "--source", "synthetic", "--chapters", titles.join(",")], {
    env: { ...process.env, PIGEON_HOME: home },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const lines = createInterface({ input: child.stderr });
  const printed = [];
  let waiting = null;
  lines.on("line", (line) => {
    printed.push(line);
    waiting?.(line);
  });
  /** The first line from `from` on that matches `pattern`, as soon as it is printed. */
  const next = (pattern, from = 0) =>
    new Promise((resolve, reject) => {
      const seen = printed.slice(from).find((l) => pattern.test(l));
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`pigeon record did not print ${pattern}; it printed: ${printed.join(" | ")}`)), 30_000);
      waiting = (line) => {
        if (pattern.test(line)) {
          clearTimeout(timer);
          waiting = null;
          resolve(line);
        }
      };
    });
  await next(/^recording draft/);
  const chapters = [];
  for (let n = 2; n <= marks + 1; n++) {
    const marked = new RegExp(`^chapter ${n} at `);
    for (;;) {
      const from = printed.length;
      child.stdin.write("n\n");
      // The mark, or the recorder's refusal (too soon after the previous one): then the
      // clip's time has moved on, and the refusal is the condition to press again.
      const line = await next(/./, from);
      if (marked.test(line)) {
        chapters.push(line);
        break;
      }
    }
  }
  // The clip grows a fragment at a time: each growth of the bytes announced is one more.
  let grown = 0;
  let last = 0;
  for (const deadline = Date.now() + 60_000; grown < fragments; ) {
    assert.ok(Date.now() < deadline, `${fragments} fragments of the clip; ${grown} came`);
    const announced = (await pigeon(home, "drafts")).drafts?.at(-1)?.clip_announced ?? 0;
    if (announced > last) [grown, last] = [grown + 1, announced];
  }
  child.kill("SIGINT");
  const code = await exited;
  assert.equal(code, 0, `pigeon record ended with ${code}: ${printed.join(" | ")}`);
  const draft = /^draft (\S+)/m.exec(stdout)?.[1];
  assert.ok(draft, `pigeon record printed its draft: ${stdout}`);
  return { draft, chapters };
}

/** The video's position and state, as the page sees it. */
const videoState = () => {
  const v = document.querySelector("[data-testid=player-video]");
  return {
    currentTime: v?.currentTime ?? -1,
    seeking: v?.seeking ?? false,
    readyState: v?.readyState ?? 0,
    duration: v?.duration ?? null,
    paused: v?.paused ?? true,
  };
};

describe("the Player as a conversation", { timeout: 600_000 }, () => {
  let hub;
  let bob;
  let aliceHome;
  let carolHome;
  let messageId;

  before(async () => {
    hub = await startHub("conversation");
    const [aliceToken, bobToken, carolToken] = await Promise.all([hub.addUser("alice"), hub.addUser("bob"), hub.addUser("carol")]);
    [aliceHome, carolHome] = await Promise.all([cliUser("alice", hub.url, aliceToken), cliUser("carol", hub.url, carolToken)]);
    bob = await launchApp("conversation-bob", { settings: hubSettings("bob", hub.url, bobToken) });
  });

  afterEach(async (t) => {
    const slug = t.name.split(" ").slice(0, 4).join("-").replace(/[^a-z0-9-]/gi, "");
    await screenshot(bob.driver, `conversation-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await bob?.stop();
    await hub?.stop();
  });

  it("alice records three chapters, sends them to bob and carol; carol reacts and comments at 0:03", async () => {
    const { draft, chapters } = await recordWithChapters(aliceHome, ["Budget", "Hiring", "Q3"], 2, 6);
    console.log(`alice marked: ${chapters.join("; ")}`);
    const sent = await pigeon(aliceHome, "send", draft, "--to", "bob,carol", "--subject", SUBJECT, "--respond-by", "24h");
    messageId = sent.message ?? sent.messageId ?? sent.id;
    assert.ok(messageId, `pigeon send said which message it sent: ${JSON.stringify(sent)}`);

    await pigeon(carolHome, "sync");
    const shown = await pigeon(carolHome, "show", messageId);
    const starts = (shown.chapters ?? shown.message?.chapters ?? []).map((c) => c.start_ms);
    assert.equal(starts.length, 3, `three chapters reach carol: ${JSON.stringify(shown)}`);
    assert.ok(starts[0] === 0 && starts[0] < starts[1] && starts[1] < starts[2], `chapters start in order: ${starts}`);
    await pigeon(carolHome, "react", messageId, "eyes");
    await pigeon(carolHome, "reply", messageId, "--text", COMMENT, "--at", "0:03", "--chapter", "2");
  });

  it("bob's Player shows the chapter ticks and carol's marker, which seeks to 0:03", async () => {
    const b = ui(bob.driver);
    // The comment reaches bob too (it goes to everyone in the message): wait for it, so the
    // Player opens with the whole conversation.
    await b.until(
      () => [...document.querySelectorAll("[data-testid=inbox-item]")].some((e) => e.textContent.includes("Re: Budget review")),
      90_000,
      "carol's comment in bob's inbox",
    );
    // The clip is fetched first, so seeking lands on downloaded bytes (see player_transcript.test.mjs).
    await bob.driver.wait(
      async () => bob.driver.executeAsyncScript((id, done) => window.__TAURI_INTERNALS__.invoke("play", { id }).then((p) => done(p.complete), () => done(false)), messageId),
      60_000,
      "bob's copy of the clip to be complete",
    );
    await bob.driver.executeScript((id) => (window.location.hash = `#/message?id=${id}`), messageId);
    await b.find("player-video");
    await b.until(() => document.querySelectorAll("[data-testid=chapter-tick]").length === 2, WAIT, "two chapter ticks (chapters 2 and 3)");
    await b.until(() => document.querySelectorAll("[data-testid=comment-marker]").length === 1, WAIT, "carol's comment marker");
    const label = await (await b.find("comment-marker")).getAttribute("aria-label");
    assert.equal(label, `Comment by carol at 0:03: ${COMMENT}`);
    const ticks = await bob.driver.executeScript(() => [...document.querySelectorAll("[data-testid=chapter-tick]")].map((t) => ({ hidden: t.hidden, left: t.style.left })));
    await b.until(() => (document.querySelector("[data-testid=player-video]")?.readyState ?? 0) >= 1, 30_000, "the clip's metadata");
    const placed = await bob.driver.executeScript(() => [...document.querySelectorAll("[data-testid=chapter-tick]")].every((t) => !t.hidden && t.style.left));
    assert.ok(placed, `the ticks are placed on the clip's length: ${JSON.stringify(ticks)}`);
    const chapterItems = await bob.driver.executeScript(() => [...document.querySelectorAll("[data-testid=chapter-item]")].map((c) => c.textContent));
    assert.deepEqual(chapterItems.map((t) => t.replace(/^\S+ /, "")), ["1. Budget", "2. Hiring", "3. Q3"]);

    await b.click("comment-marker");
    let state;
    await bob.driver
      .wait(async () => {
        state = await bob.driver.executeScript(videoState);
        // Landed, not only asked for: the seek is over and the picture is the one at 3 s.
        return !state.seeking && Math.abs(state.currentTime - 3.0) <= 0.2;
      }, WAIT)
      .catch(() => assert.fail(`the marker click put the video at 3.0 s ± 0.2: ${JSON.stringify(state)}`));
    assert.match(await b.text("player-time"), /^0:03 \//);
    console.log(`after the marker click: ${JSON.stringify(state)}`);

    const comment = await b.waitText("[data-kind=comment]", /carol commented at 0:03 on 2\. Hiring/);
    assert.match(comment, new RegExp(COMMENT.replace("?", "\\?")));
    await b.until(
      () => document.querySelector("[data-testid=reaction][data-emoji='👀']")?.getAttribute("aria-label") === "👀 from carol",
      WAIT,
      "carol's 👀 on the reaction bar",
    );
    // The keyboard does the same: Enter on the focused marker seeks there.
    await bob.driver.executeScript(() => (document.querySelector("[data-testid=player-video]").currentTime = 0));
    await b.until(() => document.querySelector("[data-testid=player-video]")?.currentTime === 0, WAIT, "the video back at the start");
    const marker = await b.find("comment-marker");
    await bob.driver.executeScript((el) => el.focus(), marker);
    await marker.sendKeys(Key.ENTER);
    await bob.driver
      .wait(async () => {
        state = await bob.driver.executeScript(videoState);
        return !state.seeking && Math.abs(state.currentTime - 3.0) <= 0.2;
      }, WAIT)
      .catch(() => assert.fail(`Enter on the marker put the video at 3.0 s ± 0.2: ${JSON.stringify(state)}`));
    await screenshot(bob.driver, "conversation-player");
    await bob.driver.executeScript(() => document.querySelector("[data-testid=chapters]")?.scrollIntoView());
    await screenshot(bob.driver, "conversation-thread");
  });

  it("bob reacts ✅ and answers in text under the clip; alice is told and sees it all in her thread", async () => {
    const b = ui(bob.driver);
    await b.click("[data-testid=reaction][data-emoji='✅']");
    await b.until(() => document.querySelector("[data-testid=reaction][data-emoji='✅']")?.getAttribute("aria-pressed") === "true", WAIT, "bob's ✅ pressed");

    const text = await b.find("reply-text");
    await text.click();
    await text.sendKeys(ANSWER, Key.chord(Key.CONTROL, Key.ENTER));
    await b.waitText("reply-sent", "Sending to alice, carol");
    // Still the Player: typing an answer never leaves it.
    assert.ok(await bob.driver.executeScript(() => !!document.querySelector("[data-testid=player-video]")));
    await b.until(
      () => [...document.querySelectorAll("[data-testid=conversation-entry].mine")].some((e) => e.textContent.includes("Agreed, see page 3.") && !e.querySelector(".entry-pending")),
      60_000,
      "bob's answer delivered in his conversation",
    );
    await bob.driver.executeScript(() => document.querySelector("[data-testid=conversation-section]")?.scrollIntoView());
    await screenshot(bob.driver, "conversation-answered");

    // Alice's sync tells her, and her thread shows everything in order.
    const told = [];
    let entries = [];
    await bob.driver.wait(
      async () => {
        const synced = await pigeon(aliceHome, "sync");
        told.push(...(synced.announcements ?? []).map((a) => a.title));
        entries = (await pigeon(aliceHome, "thread", messageId)).entries;
        const reactions = entries[0]?.reactions ?? [];
        return told.some((t) => /^bob replied to .*Budget review/.test(t)) && reactions.some((r) => r.emoji === "✅" && r.by.includes("bob"));
      },
      60_000,
      "alice to be told of bob's answer and to see his ✅",
    ).catch(() => assert.fail(`alice was told ${JSON.stringify(told)}; her thread: ${JSON.stringify(entries)}`));
    console.log(`alice was told: ${told.join(" | ")}`);
    const kinds = entries.map((e) => [e.sender, e.kind, e.text ?? null]);
    assert.deepEqual(kinds, [
      ["alice", "message", null],
      ["carol", "comment", COMMENT],
      ["bob", "reply", ANSWER],
    ]);
    assert.equal(entries[1].at_ms, 3000);
    assert.deepEqual(
      entries[0].reactions.map((r) => [r.emoji, r.by]),
      [
        ["✅", ["bob"]],
        ["👀", ["carol"]],
      ],
    );
  });

  it("carol's comment opens in bob's Player as text, and its time opens the clip there", async () => {
    const b = ui(bob.driver);
    // From the Inbox, as bob would: the comment is an item of its own.
    await bob.driver.executeScript(() => (window.location.hash = "#/inbox"));
    await b.until(
      () => {
        const item = [...document.querySelectorAll("[data-testid=inbox-item]")].find((e) => e.textContent.includes("Re: Budget review"));
        item?.click();
        return !!item;
      },
      WAIT,
      "carol's comment in the Inbox",
    );
    await b.until(() => document.querySelector("[data-kind=comment][aria-current=true]"), WAIT, "the comment as the message shown");
    // A text answer has no clip: the Player shows no video, only the conversation.
    await b.until(
      () => document.querySelector(".player-clip")?.hidden === true && document.querySelector("[data-testid=transcript]")?.hidden === true,
      WAIT,
      "no video and no transcript for a text answer",
    );
    // Still answerable and reactable right there.
    assert.ok(await bob.driver.executeScript(() => !!document.querySelector("[data-testid=reply-text]")?.offsetParent));
    assert.ok(await bob.driver.executeScript(() => !!document.querySelector("[data-testid=reaction]")?.offsetParent));
    // A reaction here is on carol's comment, and the conversation says so.
    await b.click("[data-testid=reaction][data-emoji='👍']");
    await b.until(
      () => [...document.querySelectorAll("[data-kind=comment] [data-testid=entry-reaction]")].some((r) => r.textContent === "👍 bob"),
      WAIT,
      "bob's 👍 on carol's comment",
    );
    await screenshot(bob.driver, "conversation-comment");
    const moment = await b.find("[data-kind=comment] [data-testid=entry-moment]");
    assert.equal(await moment.getAttribute("aria-label"), "Open the clip at 0:03");
    await b.click("[data-kind=comment] [data-testid=entry-moment]");
    await b.until(() => document.querySelector("[data-kind=message][aria-current=true]"), WAIT, "alice's clip opened");
    assert.match(await bob.driver.executeScript(() => window.location.hash), new RegExp(`id=${messageId}&t=3000`));
    let state;
    await bob.driver
      .wait(async () => {
        state = await bob.driver.executeScript(videoState);
        return state.readyState >= 1 && !state.seeking && state.currentTime >= 2.8;
      }, WAIT)
      .catch(() => assert.fail(`the clip opened at 0:03: ${JSON.stringify(state)}`));
    // It plays from there: it did not start from the beginning.
    assert.ok(state.currentTime < 3.0 + 8, JSON.stringify(state));
  });

  it("a reaction given elsewhere shows in the open Player without reopening it", async () => {
    const b = ui(bob.driver);
    await pigeon(carolHome, "react", messageId, "party");
    // Sooner than the Player's minute refresh: the sync that stores it tells the Player.
    await b.until(
      () => document.querySelector("[data-testid=reaction][data-emoji='🎉']")?.getAttribute("aria-label") === "🎉 from carol",
      30_000,
      "carol's 🎉 on bob's open Player",
    );
    await b.until(
      () => [...document.querySelectorAll("[data-kind=message] [data-testid=entry-reaction]")].some((r) => r.textContent === "🎉 carol"),
      WAIT,
      "carol's 🎉 in the conversation",
    );
  });

  it("a reaction taken back elsewhere goes from the open Player without reopening it", async () => {
    const b = ui(bob.driver);
    await pigeon(carolHome, "react", messageId, "party", "--remove");
    // Taking one back announces nothing: the sync that stores its record tells the Player.
    await b.until(
      () => {
        const party = document.querySelector("[data-testid=reaction][data-emoji='🎉']");
        const entries = [...document.querySelectorAll("[data-kind=message] [data-testid=entry-reaction]")];
        return !!party && !party.getAttribute("aria-label").includes("carol") && !entries.some((r) => r.textContent.startsWith("🎉"));
      },
      30_000,
      "carol's 🎉 gone from bob's open Player",
    );
    // The rest stays as it was.
    await b.until(
      () => document.querySelector("[data-testid=reaction][data-emoji='👀']")?.getAttribute("aria-label") === "👀 from carol",
      WAIT,
      "carol's 👀 still there",
    );
    // Paused, so the playing chapter does not pull the page back while it is pictured.
    await bob.driver.executeScript(() => {
      document.querySelector("[data-testid=player-video]")?.pause();
      document.querySelector("[data-testid=reaction-bar]")?.scrollIntoView({ block: "center" });
    });
    await screenshot(bob.driver, "conversation-reaction-taken-back");
  });
});
