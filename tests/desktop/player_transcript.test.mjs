// The Player with a transcript, for real: alice (the CLI) records a clip of espeak-ng
// speech and sends it to bob through a real hub; her `pigeon send` makes the
// transcript with the real whisper tiny.en model and shares it. Bob's desktop app
// shows captions over the video (checked on a screenshot), the transcript beside it
// follows playback, a click on a line seeks there, the panel's search finds a line,
// and a start moment in the route (a search hit) opens the clip there.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { By } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";
import { cliBinary, cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { speechClip as speakClip, testModel as model, transcriptionSettings as transcription } from "./lib/speech.mjs";
import { ui, WAIT } from "./lib/ui.mjs";

const run = promisify(execFile);

// Two sentences with a long pause between them (what skip silence jumps over).
const FIRST = "Please review the budget agenda before Friday.";
const SECOND = "The quick brown fox jumps over the lazy dog.";
const PAUSE_S = 3;
const VOICE = ["-v", "en-us", "-s", "150"];

/** A 720p clip of the two sentences: 0.5 s of quiet first, the pause between, 1 s after. */
const speechClip = (dir) =>
  speakClip(dir, [
    { text: FIRST, before: 0.5, after: PAUSE_S, voice: VOICE },
    { text: SECOND, after: 1, voice: VOICE },
  ]);

/** The video's state, as the page sees it. */
const videoState = () => {
  const v = document.querySelector("[data-testid=player-video]");
  const tracks = [...(v?.textTracks ?? [])];
  const shown = tracks.find((t) => t.mode === "showing");
  return {
    currentTime: v?.currentTime ?? -1,
    paused: v?.paused ?? true,
    networkState: v?.networkState ?? -1,
    buffered: v ? [...Array(v.buffered.length).keys()].map((i) => [v.buffered.start(i), v.buffered.end(i)]) : [],
    duration: v?.duration ?? null,
    error: v?.error?.message ?? v?.error?.code ?? null,
    readyState: v?.readyState ?? 0,
    captions: v?.dataset.captions ?? null,
    tracks: tracks.map((t) => ({ kind: t.kind, mode: t.mode, cues: t.cues?.length ?? null, language: t.language })),
    activeCue: shown?.activeCues?.[0]?.text ?? null,
  };
};

/** Waits until `fn(...args)`, run in the page, is truthy. */
async function waitFor(driver, fn, args, timeout, what) {
  let last;
  await driver
    .wait(async () => (last = await driver.executeScript(fn, ...args)), timeout)
    .catch(async (error) => {
      const state = await driver.executeScript(videoState).catch(() => null);
      throw new Error(`timed out waiting for ${what} (${error.message}); the video: ${JSON.stringify(state)}`);
    });
  return last;
}

describe("the Player with a transcript", { timeout: 600_000 }, () => {
  let hub;
  let bob;
  let aliceHome;
  let messageId;
  let lines;

  before(async () => {
    assert.ok(existsSync(model), `the test model ${model} is missing: run scripts/setup, or set PIGEON_TEST_WHISPER_MODEL`);
    hub = await startHub("player-transcript");
    const [aliceToken, bobToken] = await Promise.all([hub.addUser("alice"), hub.addUser("bob")]);
    aliceHome = await cliUser("alice", hub.url, aliceToken);
    // Alice's transcripts are made with the test model.
    await pigeon(aliceHome, "config", "--transcription", "on", "--model-path", model);
    bob = await launchApp("player-transcript-bob", { settings: hubSettings("bob", hub.url, bobToken) + transcription });
  });

  afterEach(async (t) => {
    const slug = t.name.split(" ").slice(0, 4).join("-").replace(/[^a-z0-9-]/gi, "");
    await screenshot(bob.driver, `player-transcript-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await bob?.stop();
    await hub?.stop();
  });

  it("alice sends a clip of speech, transcribed on her machine", async () => {
    const clip = await speechClip(mkdtempSync(path.join(tmpdir(), "pigeon-speech-")));
    const draft = await pigeon(aliceHome, "record", "--source", clip);
    const sent = await pigeon(aliceHome, "send", draft.draft, "--to", "bob", "--subject", "Budget agenda", "--respond-by", "24h");
    messageId = sent.message ?? sent.messageId ?? sent.id;
    assert.ok(messageId, `pigeon send said which message it sent: ${JSON.stringify(sent)}`);
    // Sending waited for nothing; the transcript was made after the message went.
    const { stdout } = await run(cliBinary, ["transcript", draft.draft, "--text"], { env: { ...process.env, PIGEON_HOME: aliceHome } });
    console.log(`alice's transcript: ${stdout.trim()}`);
    assert.match(stdout.toLowerCase(), /agenda/);
  });

  it("bob's Player shows the transcript beside the video and captions over it", async () => {
    const b = ui(bob.driver);
    await b.until(() => document.querySelectorAll("[data-testid=inbox-item]").length === 1, 60_000, "alice's message in bob's inbox");
    // The clip is fetched first (`play` starts the download and says when it is whole): a clip
    // played while it still downloads stalls in the <video> (a known problem of the download
    // path, not of the Player), and this test is about the transcript and captions.
    await waitFor(
      bob.driver,
      async (id) => (await window.__TAURI_INTERNALS__.invoke("play", { id })).complete,
      [messageId],
      60_000,
      "bob's copy of the clip to be complete",
    );
    await b.click("inbox-item");
    await b.find("player-video");
    // The transcript follows the message through the hub, after it.
    await b.until(() => document.querySelectorAll("[data-testid=transcript-line]").length >= 2, 90_000, "the transcript's lines");
    lines = await bob.driver.executeScript(() =>
      [...document.querySelectorAll("[data-testid=transcript-line]")].map((l) => ({
        startMs: Number(l.dataset.startMs),
        time: l.querySelector(".line-time").textContent,
        text: l.querySelector(".line-text").textContent,
      })),
    );
    const said = lines.map((l) => l.text).join(" ").toLowerCase();
    // tiny.en on a clip recorded in real time mishears a word or two, differently from run to
    // run ("budget" as "magit", "brown fox" as "roundfark"): most words of each sentence are there.
    for (const words of [["please", "review", "agenda", "before", "friday"], ["quick", "fox", "jumps", "lazy", "dog"]]) {
      const heard = words.filter((w) => said.includes(w));
      assert.ok(heard.length >= 3, `most of ${JSON.stringify(words)} in ${JSON.stringify(lines)}`);
    }
    assert.equal(await b.text("transcript-meta"), "English · tiny.en");

    // Captions: on (the toggle remembers), shown over the video while it plays.
    const toggle = await b.find("player-captions");
    await b.until(() => !document.querySelector("[data-testid=player-captions]").hidden, WAIT, "the captions toggle");
    if ((await toggle.getAttribute("aria-pressed")) !== "true") await b.click("player-captions");
    assert.equal(await toggle.getAttribute("aria-pressed"), "true");
    await b.click("player-play");
    await waitFor(
      bob.driver,
      () => {
        const v = document.querySelector("[data-testid=player-video]");
        const shown = [...v.textTracks].find((t) => t.mode === "showing");
        return v.currentTime > 1.5 && shown?.activeCues?.length > 0;
      },
      [],
      30_000,
      "a caption to show while the first sentence is spoken",
    );
    await bob.driver.executeScript(() => document.querySelector("[data-testid=player-video]").pause());
    const state = await bob.driver.executeScript(videoState);
    console.log(`captions from ${state.captions}: ${JSON.stringify(state.tracks)}, showing "${state.activeCue}" at ${state.currentTime.toFixed(2)} s`);
    assert.match(state.activeCue.toLowerCase(), /budget|agenda|review|friday/);
    // The line being spoken is marked in the panel.
    const current = await bob.driver.executeScript(() => document.querySelector("[data-testid=transcript-line][aria-current]")?.dataset.startMs);
    assert.equal(Number(current), lines.filter((l) => l.startMs <= state.currentTime * 1000).pop().startMs);
    await screenshot(bob.driver, "player-transcript-1-captions");

    // The choice is remembered: off now, and it stays off when the message is opened again.
    await b.click("player-captions");
    assert.equal(await toggle.getAttribute("aria-pressed"), "false");
    assert.ok(await bob.driver.executeScript(() => ![...document.querySelector("[data-testid=player-video]").textTracks].some((t) => t.mode === "showing")));
    await bob.driver.executeScript(() => (window.location.hash = "#/inbox"));
    await b.click("inbox-item");
    await b.until(() => document.querySelectorAll("[data-testid=transcript-line]").length >= 2, WAIT, "the transcript again");
    await b.until(() => !document.querySelector("[data-testid=player-captions]").hidden, WAIT, "the captions toggle again");
    assert.equal(await (await b.find("player-captions")).getAttribute("aria-pressed"), "false");
    await b.click("player-captions");
  });

  it("clicking a transcript line seeks there, and the panel's search finds a line", async () => {
    const b = ui(bob.driver);
    const target = lines.length - 1;
    const items = await bob.driver.findElements(By.css("[data-testid=transcript-line]"));
    await items[target].click();
    await waitFor(
      bob.driver,
      (ms) => {
        const v = document.querySelector("[data-testid=player-video]");
        return !v.seeking && Math.abs(v.currentTime * 1000 - ms) < 300;
      },
      [lines[target].startMs],
      WAIT,
      "the video to seek to the clicked line",
    );
    const at = await bob.driver.executeScript(() => document.querySelector("[data-testid=player-video]").currentTime);
    console.log(`clicked the line at ${lines[target].startMs} ms ("${lines[target].text}"): the video is at ${(at * 1000).toFixed(0)} ms`);
    assert.ok(Math.abs(at * 1000 - lines[target].startMs) < 300);
    const current = await bob.driver.executeScript(() => [...document.querySelectorAll("[data-testid=transcript-line]")].findIndex((l) => l.hasAttribute("aria-current")));
    assert.equal(current, target);

    await b.type("transcript-search", "agenda");
    await b.waitText("transcript-matches", /^1 of \d+$/);
    const matched = await bob.driver.executeScript(() =>
      [...document.querySelectorAll("[data-testid=transcript-line].match .line-text")].map((e) => e.textContent),
    );
    assert.ok(matched.length >= 1 && matched.every((t) => /agenda/i.test(t)), JSON.stringify(matched));
    await screenshot(bob.driver, "player-transcript-2-search");
  });

  it("skip silence jumps over the pause between the sentences while playing", async () => {
    const b = ui(bob.driver);
    const ranges = await bob.driver.executeAsyncScript((id, done) => {
      window.__TAURI_INTERNALS__.invoke("skip_ranges", { id }).then(done, (e) => done({ error: String(e?.message ?? e) }));
    }, messageId);
    assert.ok(Array.isArray(ranges), `skip_ranges answered ${JSON.stringify(ranges)}`);
    const firstStart = lines[0].startMs;
    const secondStart = lines.find((l) => /fox|dog|lazy|quick/i.test(l.text))?.startMs ?? lines[lines.length - 1].startMs;
    // The pause alice left between the sentences is one of them.
    const pause = ranges.find((r) => r.startMs > firstStart && r.endMs <= secondStart + 500 && r.endMs - r.startMs >= 1000);
    assert.ok(pause, `a skip range in the pause between ${firstStart} and ${secondStart} ms: ${JSON.stringify(ranges)}`);

    await b.click("player-skip-silence");
    assert.equal(await (await b.find("player-skip-silence")).getAttribute("aria-pressed"), "true");
    await bob.driver.executeScript((from) => {
      const v = document.querySelector("[data-testid=player-video]");
      window.__playedAt = [];
      v.addEventListener("timeupdate", () => window.__playedAt.push(v.currentTime * 1000));
      v.currentTime = from / 1000;
      v.play();
    }, Math.max(0, pause.startMs - 1000));
    await waitFor(
      bob.driver,
      (end) => document.querySelector("[data-testid=player-video]").currentTime * 1000 > end + 300,
      [pause.endMs],
      WAIT,
      "playback to pass the pause",
    );
    const played = await bob.driver.executeScript(() => {
      document.querySelector("[data-testid=player-video]").pause();
      return window.__playedAt;
    });
    // The first moment seen inside the pause jumps to its end; nothing later in it plays.
    const inside = played.filter((ms) => ms > pause.startMs + 750 && ms < pause.endMs - 50);
    console.log(`skip range ${pause.startMs}-${pause.endMs} ms; times seen inside it: ${JSON.stringify(inside.map(Math.round))}`);
    assert.deepEqual(inside, []);
    await b.click("player-skip-silence");
  });

  it("opens at the moment a search hit names", async () => {
    const b = ui(bob.driver);
    const second = lines.find((l) => /fox|dog|lazy|quick/i.test(l.text)) ?? lines[lines.length - 1];
    await bob.driver.executeScript((id, t) => (window.location.hash = `#/message?id=${encodeURIComponent(id)}&t=${t}`), messageId, second.startMs);
    await waitFor(
      bob.driver,
      (ms) => {
        const v = document.querySelector("[data-testid=player-video]");
        return v && v.readyState >= 1 && v.currentTime * 1000 >= ms - 300;
      },
      [second.startMs],
      WAIT,
      "the clip to open at the hit's moment",
    );
    const at = await bob.driver.executeScript(() => document.querySelector("[data-testid=player-video]").currentTime);
    assert.ok(at * 1000 >= second.startMs - 300 && at * 1000 < second.startMs + 3000, `at ${at} s, hit at ${second.startMs} ms`);
  });

  it("a message that came without a transcript gets one made on bob's machine", async () => {
    const b = ui(bob.driver);
    // Alice's client makes none now (as an older client or one with transcription off would).
    await pigeon(aliceHome, "config", "--transcription", "off");
    const clip = await speechClip(mkdtempSync(path.join(tmpdir(), "pigeon-speech-")));
    const draft = await pigeon(aliceHome, "record", "--source", clip);
    const sent = await pigeon(aliceHome, "send", draft.draft, "--to", "bob", "--subject", "No transcript", "--respond-by", "24h");
    const id = sent.message ?? sent.messageId ?? sent.id;
    await bob.driver.executeScript(() => (window.location.hash = "#/inbox"));
    await b.until(() => document.querySelectorAll("[data-testid=inbox-item]").length === 2, 60_000, "the second message in bob's inbox");
    // As above: the clip is whole before the Player opens.
    await waitFor(
      bob.driver,
      async (m) => (await window.__TAURI_INTERNALS__.invoke("play", { id: m })).complete,
      [id],
      60_000,
      "bob's copy of the second clip to be complete",
    );
    await bob.driver.executeScript((m) => (window.location.hash = `#/message?id=${encodeURIComponent(m)}`), id);
    await b.waitText("transcript-none", "no transcript");
    await screenshot(bob.driver, "player-transcript-3-none");
    await b.click("transcript-make");
    // Queued, then made by bob's own Transcriber with his model; the panel follows transcript-changed.
    await b.until(() => document.querySelectorAll("[data-testid=transcript-line]").length >= 2, 180_000, "the transcript made on bob's machine");
    const said = await b.text("transcript-lines");
    assert.match(said.toLowerCase(), /agenda|friday/);
    assert.match(said.toLowerCase(), /fox|dog|lazy|quick/);
    assert.equal(await b.text("transcript-meta"), "English · tiny.en");
    await screenshot(bob.driver, "player-transcript-4-made-here");
  });
});
