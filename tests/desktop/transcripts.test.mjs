// Transcripts in the desktop app, for real, with the real whisper tiny.en model:
// - alice (the CLI) sends bob a clip of espeak-ng speech through a real hub; her
//   machine transcribes it and shares it. Bob searches a spoken word from the
//   sidebar, the hit says where it is spoken ("Transcript at 0:03"), and opening it
//   starts the Player at that moment.
// - bob records from the virtual microphone in the app and sends it to alice: the
//   app makes the transcript in the background after Stop, finds it in search, and
//   shares it, so alice's CLI finds what bob said.
// - Settings › Transcription shows the model in use, and offers the catalog's model
//   for download with its size.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { Key } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { speechClip as speakClip, testModel as model, transcriptionSettings as transcription } from "./lib/speech.mjs";
import { ui, WAIT } from "./lib/ui.mjs";


/** Quiet before the sentence, so the searched word is spoken well after the start. */
const LEAD_IN_S = 2.5;
// espeak-ng's default voice: tiny.en hears this sentence word for word (measured: WER 0).
const SENTENCE = "Please review the budget agenda before Friday.";
const SPOKEN = ["agenda", "budget", "friday", "review"];

/** Words of the virtual microphone's loop (scripts/test-env). */
const MICROPHONE_WORDS = ["fox", "microphone", "lazy", "dog", "three", "jumps"];

/** A 720p clip: LEAD_IN_S of quiet, then SENTENCE. */
const speechClip = (dir) => speakClip(dir, [{ text: SENTENCE, before: LEAD_IN_S, after: 1 }]);

/** The search results as the page lists them. */
const results = () =>
  [...document.querySelectorAll("[data-testid=search-hit]")].map((hit) => ({
    field: hit.dataset.field,
    subject: hit.querySelector("[data-testid=search-hit-subject]")?.textContent,
    where: hit.querySelector("[data-testid=search-hit-where]")?.textContent,
    snippet: hit.querySelector("[data-testid=search-snippet]")?.textContent,
    marked: [...hit.querySelectorAll("mark")].map((m) => m.textContent),
  }));

/**
 * Searches from the sidebar box until a hit of `field` is listed (a transcript may still be
 * on its way). Each of `candidates` is tried in turn: a small model mishears a word now and
 * then (tiny.en's error rate on espeak speech is about 10-20 %), and any of them spoken is enough.
 * Returns { words, listed }.
 */
async function searchUntil(driver, candidates, field, timeout) {
  const b = ui(driver);
  const deadline = Date.now() + timeout;
  let last = [];
  for (let round = 0; Date.now() < deadline; round++) {
    const words = candidates[round % candidates.length];
    const box = await b.find("sidebar-search");
    await box.clear();
    await box.sendKeys(words, Key.ENTER);
    const found = await driver
      .wait(async () => {
        last = await driver.executeScript(results);
        return (await driver.executeScript(() => decodeURIComponent(window.location.hash))).includes(`q=${words}`) && last.some((r) => r.field === field);
      }, 3_000)
      .then(() => true, () => false);
    if (found) return { words, listed: last };
  }
  throw new Error(`no ${field} hit for any of ${JSON.stringify(candidates)} within ${timeout} ms; last listed: ${JSON.stringify(last)}`);
}

/** Scrolls Settings to the Transcription section and waits until it is at the top (the sections above load late). */
async function showTranscriptionSettings(driver) {
  await ui(driver).until(
    () => {
      const section = document.querySelector("[data-testid=transcription-settings]");
      section?.scrollIntoView({ block: "start" });
      return section && Math.abs(section.getBoundingClientRect().top) < 40;
    },
    WAIT,
    "the Transcription section in view",
  );
}

describe("transcripts: search from the sidebar, made in the background, and the model settings", { timeout: 900_000 }, () => {
  let hub;
  let bob;
  let aliceHome;

  before(async () => {
    assert.ok(existsSync(model), `the test model ${model} is missing: run scripts/setup, or set PIGEON_TEST_WHISPER_MODEL`);
    hub = await startHub("transcripts");
    const [aliceToken, bobToken] = await Promise.all([hub.addUser("alice"), hub.addUser("bob")]);
    aliceHome = await cliUser("alice", hub.url, aliceToken);
    await pigeon(aliceHome, "config", "--transcription", "on", "--model-path", model);
    bob = await launchApp("transcripts-bob", {
      settings: hubSettings("bob", hub.url, bobToken) + transcription,
    });
  });

  afterEach(async (t) => {
    const slug = t.name.split(" ").slice(0, 4).join("-").replace(/[^a-z0-9-]/gi, "");
    await screenshot(bob.driver, `transcripts-end-${slug}`).catch(() => {});
  });

  after(async () => {
    await bob?.stop();
    await hub?.stop();
  });

  it("bob finds a word alice said from the sidebar and the Player opens at that moment", async () => {
    const clip = await speechClip(mkdtempSync(path.join(tmpdir(), "pigeon-speech-")));
    const draft = await pigeon(aliceHome, "record", "--source", clip);
    await pigeon(aliceHome, "send", draft.draft, "--to", "bob", "--subject", "Harbour plans", "--respond-by", "24h");

    const b = ui(bob.driver);
    await b.until(() => document.querySelectorAll("[data-testid=inbox-item]").length === 1, 60_000, "alice's message in bob's inbox");
    // The transcript follows the message; the results follow the transcript.
    const { words, listed } = await searchUntil(bob.driver, SPOKEN, "transcript", 180_000);
    console.log(`search "${words}": ${JSON.stringify(listed)}`);
    const hit = listed.find((r) => r.field === "transcript");
    assert.equal(hit.subject, "Harbour plans");
    assert.ok(hit.marked.some((m) => m.toLowerCase().includes(words)), `the spoken word is marked: ${JSON.stringify(hit)}`);
    assert.match(hit.where, /^Transcript at 0:0\d$/);
    const seconds = Number(hit.where.split(":").pop());
    // Said after the lead-in, early in the sentence.
    assert.ok(seconds >= Math.floor(LEAD_IN_S) - 1 && seconds <= LEAD_IN_S + 2, `spoken at 0:0${seconds}`);
    await screenshot(bob.driver, "transcripts-1-search-results");

    await bob.driver.executeScript(() =>
      [...document.querySelectorAll("[data-testid=search-hit]")].find((h) => h.dataset.field === "transcript").click(),
    );
    await b.find("player-video");
    const hash = await bob.driver.executeScript(() => window.location.hash);
    const t = Number(new URLSearchParams(hash.split("?")[1]).get("t"));
    assert.match(hash, /^#\/message\?id=[^&]+&t=\d+$/);
    assert.ok(t >= (LEAD_IN_S - 1) * 1000 && t <= (LEAD_IN_S + 2.5) * 1000, `opens at ${t} ms`);
    await bob.driver
      .wait(
        () =>
          bob.driver.executeScript((ms) => {
            const v = document.querySelector("[data-testid=player-video]");
            return v && v.readyState >= 1 && !v.seeking && Math.abs(v.currentTime * 1000 - ms) < 500;
          }, t),
        WAIT,
      )
      .catch(async (error) => {
        const now = await bob.driver.executeScript(() => document.querySelector("[data-testid=player-video]")?.currentTime);
        throw new Error(`the clip did not open at ${t} ms: it is at ${now} s (${error.message})`);
      });
    const at = await bob.driver.executeScript(() => document.querySelector("[data-testid=player-video]").currentTime);
    console.log(`the hit said ${hit.where} (t=${t} ms); the Player opened at ${(at * 1000).toFixed(0)} ms`);
    await screenshot(bob.driver, "transcripts-2-player-at-hit");

    // A subject matches too, without a moment.
    const bySubject = await searchUntil(bob.driver, ["harbour"], "subject", WAIT);
    assert.equal(bySubject.listed.find((r) => r.field === "subject").where, "Subject");
  });

  it("bob's own recording is transcribed in the background, found by search, and shared with alice", async () => {
    const b = ui(bob.driver);
    // Straight to the Record screen (the Inbox's Record button is the flow test's).
    await bob.driver.executeScript(() => (window.location.hash = "#/record"));
    await b.until(() => document.querySelector("[data-testid=camera-select]")?.value === "test-pattern", WAIT, "the test pattern to be chosen");
    await b.startRecording();
    // The virtual microphone says its sentence (about 7 s with the pause) over and over.
    await b.waitSeconds("elapsed", 9, 30_000);
    const stopped = Date.now();
    await b.click("record-stop");
    await b.find("compose");
    await b.type("recipient-input", `alice${Key.ENTER}`);
    await b.find("recipient-alice");
    await b.type("subject-input", "Microphone check");
    await b.waitText("upload-status", "Clip uploaded", 30_000);
    await b.click("send-button");
    await b.find("sent");

    // Transcription runs below every other thread's priority: on a loaded 2-core machine it takes a while.
    // The Player's own command says when it is done and what it heard.
    const invoke = (command, args) =>
      bob.driver.executeAsyncScript(
        (name, body, done) => window.__TAURI_INTERNALS__.invoke(name, body).then(done, (e) => done({ error: String(e.message ?? e) })),
        command,
        args,
      );
    const sentItems = await invoke("sent", {});
    const sentId = sentItems.find((m) => m.subject === "Microphone check").id;
    let transcript;
    await bob.driver
      .wait(async () => {
        transcript = await invoke("message_transcript", { id: sentId });
        return transcript.state === "done" || transcript.state === "failed";
      }, 300_000)
      .catch((error) => {
        throw new Error(`bob's transcript was not made: ${JSON.stringify(transcript)} (${error.message})`);
      });
    const heard = transcript.lines.map((l) => l.text).join(" ");
    console.log(`bob's transcript, made ${((Date.now() - stopped) / 1000).toFixed(1)} s after Stop: "${heard}" (${transcript.language}, ${transcript.model})`);
    assert.equal(transcript.state, "done", transcript.problem);
    assert.equal(transcript.origin, "here");
    assert.ok(transcript.captionsUrl?.startsWith("http://127.0.0.1:"), JSON.stringify(transcript));
    // How well tiny.en hears the live microphone is the engine's test; here: what it heard is found.
    const said = heard.toLowerCase().match(/[a-z]{3,}/g) ?? [];
    assert.ok(said.length > 0, `the transcript has words: "${heard}"`);
    console.log(`microphone words heard: ${JSON.stringify(MICROPHONE_WORDS.filter((w) => said.includes(w)))}`);
    const longest = [...said].sort((x, y) => y.length - x.length)[0];
    const { words, listed } = await searchUntil(bob.driver, [longest], "transcript", WAIT);
    const mine = listed.find((r) => r.field === "transcript");
    assert.equal(mine.subject, "Microphone check");
    assert.ok(mine.marked.some((m) => m.toLowerCase() === words), JSON.stringify(mine));
    await screenshot(bob.driver, "transcripts-3-own-clip-found");

    // Shared after delivery: alice's sync brings the transcript, and her search finds what bob said.
    let found = [];
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await pigeon(aliceHome, "sync");
      found = (await pigeon(aliceHome, "search", words)) ?? [];
      if (JSON.stringify(found).includes("Microphone check")) break;
    }
    console.log(`alice's search "${words}": ${JSON.stringify(found)}`);
    assert.match(JSON.stringify(found), /Microphone check/);
  });

  it("Settings › Transcription shows the model in use and offers the catalog's model with its size", async () => {
    const b = ui(bob.driver);
    await bob.driver.executeScript(() => (window.location.hash = "#/settings"));
    await b.find("transcription-settings");
    await b.waitText("model-status", `Ready: transcripts are made on this computer with the model file ${model}.`);
    assert.equal(await b.text("model-path"), model);
    const options = await bob.driver.executeScript(() =>
      [...document.querySelectorAll("[data-testid=transcription-model] option")].map((o) => o.textContent),
    );
    console.log(`models offered: ${JSON.stringify(options)}`);
    assert.ok(options.some((o) => /^Base \(English\), \d+ MB/.test(o)), JSON.stringify(options));
    await showTranscriptionSettings(bob.driver);
    await screenshot(bob.driver, "transcripts-4-settings-ready");

    // Back to the catalog's tiny.en, which is not downloaded: one sentence, and a Download button that says the size.
    await b.click("model-unpick");
    // The section renders again after saving: read the status afresh each time.
    const status = await b.until(
      () => {
        const text = document.querySelector("[data-testid=model-status]")?.textContent ?? "";
        return /^Tiny \(English\) is not on this computer yet/.test(text) && text;
      },
      WAIT,
      "the not-downloaded sentence",
    );
    assert.match(status, /^Tiny \(English\) is not on this computer yet: download it \(\d+ MB\) to make transcripts\.$/);
    assert.match(await b.text("model-download"), /^Download Tiny \(English\) \(\d+ MB\)$/);
    await showTranscriptionSettings(bob.driver);
    await screenshot(bob.driver, "transcripts-5-settings-download");

    // A model file cut short (what an interrupted copy leaves): one sentence, and the rest of Settings works.
    const truncated = path.join(mkdtempSync(path.join(tmpdir(), "pigeon-model-")), "ggml-tiny.en.bin");
    writeFileSync(truncated, readFileSync(model).subarray(0, 4 * 1024 * 1024));
    // The command the file dialog's choice goes through (the dialog itself is the system's).
    const saved = await bob.driver.executeAsyncScript((file, done) => {
      window.__TAURI_INTERNALS__
        .invoke("set_transcription_settings", { choice: { enabled: true, model: "tiny.en", modelPath: file, language: null } })
        .then((view) => done(view.status), (e) => done({ error: String(e.message ?? e) }));
    }, truncated);
    console.log(`a truncated model file: ${JSON.stringify(saved)}`);
    assert.equal(saved.kind, "broken");
    await bob.driver.executeScript(() => (window.location.hash = "#/inbox"));
    await b.find("inbox");
    await bob.driver.executeScript(() => (window.location.hash = "#/settings"));
    const sentence = await b.until(
      () => {
        const el = document.querySelector("[data-testid=model-status]");
        return el?.getAttribute("role") === "alert" && el.textContent;
      },
      WAIT,
      "the broken model's sentence",
    );
    assert.equal(sentence, saved.sentence);
    assert.ok(!sentence.includes("\n") && sentence.length < 300, sentence);
    await b.waitText("settings-user", "bob");
    // About: this build and what the hub said about itself.
    await b.waitText("about-version", "(protocol 1)");
    await b.waitText("about-hub", "The hub runs Pigeon 0.1.0 (protocol 1): this app (0.1.0, protocol 1) speaks it.");
    await showTranscriptionSettings(bob.driver);
    await screenshot(bob.driver, "transcripts-6-settings-broken-model");
  });
});
