// Desktop latency benchmark, run under scripts/test-env (see docs/performance.md):
//   1. cold start to an interactive inbox (the app logs it when the inbox is on screen);
//   2. global shortcut to the first recorded frame (wall clock from just before
//      `xdotool key` to the recorder's first frame, from the app's log timestamps);
//   3. click Play to the first frame shown (in the page: click -> the video element's
//      first presented frame), for a received clip still downloading and once local.
// Goals on the project's machine: <= 1.5 s, <= 500 ms, <= 500 ms.

import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { appBinary, launchApp, settingsToml } from "./lib/app.mjs";
import { cliUser, hubSettings, pigeon, startHub } from "./lib/hub.mjs";
import { ui } from "./lib/ui.mjs";

const run = promisify(execFile);
const ROUNDS = Number(process.env.PIGEON_BENCH_ROUNDS ?? 5);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Starts the app without WebDriver; resolves lines of its log as they come. */
function startApp(settings) {
  const home = mkdtempSync(path.join(tmpdir(), "pigeon-bench-"));
  mkdirSync(path.join(home, "config"), { recursive: true });
  writeFileSync(path.join(home, "config", "settings.toml"), settings);
  const child = spawn(appBinary, [], {
    env: { ...process.env, PIGEON_HOME: home, RUST_LOG: "info", NO_AT_BRIDGE: "1", NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const waiters = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    for (const w of [...waiters]) {
      const m = line.match(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve({ line, match: m });
      }
    }
  });
  return {
    waitFor(pattern, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line ${pattern} within ${ms} ms`)), ms);
        waiters.push({ pattern, resolve: (v) => (clearTimeout(timer), resolve(v)) });
      });
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
    },
  };
}

const folderSettings = (name) => settingsToml(name, { path: mkdtempSync(path.join(tmpdir(), "pigeon-bench-store-")) });

async function coldStart() {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const app = startApp(folderSettings("bench"));
    const { match } = await app.waitFor(/cold start to interactive inbox ms=(\d+)/);
    times.push(Number(match[1]));
    await app.stop();
  }
  return times;
}

async function shortcutToFrame() {
  const times = [];
  const inProcess = [];
  for (let i = 0; i < ROUNDS; i++) {
    const app = startApp(folderSettings("bench"));
    await app.waitFor(/cold start to interactive inbox/);
    await app.waitFor(/global quick-record shortcut registered/, 1).catch(() => {});
    await new Promise((r) => setTimeout(r, 1000)); // let start-up work settle
    const pressed = Date.now();
    await run("xdotool", ["key", "--clearmodifiers", "ctrl+shift+alt+r"]);
    const { line, match } = await app.waitFor(/global shortcut to first recorded frame ms=(\d+)/);
    const at = Date.parse(line.slice(0, line.indexOf(" ")));
    times.push(at - pressed);
    inProcess.push(Number(match[1]));
    await app.stop();
  }
  return { times, inProcess };
}

async function playToFrame() {
  const hub = await startHub("bench");
  const [aliceToken, bobToken] = await Promise.all([hub.addUser("alice"), hub.addUser("bob")]);
  const alice = await cliUser("alice", hub.url, aliceToken);
  const draft = await pigeon(alice, "record", "--source", "synthetic", "--seconds", "10");
  await pigeon(alice, "send", draft.draft, "--to", "bob", "--subject", "Benchmark clip", "--respond-by", "24h");
  const bob = await launchApp("bench-bob", { settings: hubSettings("bob", hub.url, bobToken) });
  const results = [];
  try {
    const u = ui(bob.driver);
    for (let i = 0; i < ROUNDS; i++) {
      await u.click("nav-inbox");
      await u.click("inbox-item", 60_000);
      await u.until(() => document.querySelector("[data-testid=player-video]")?.getAttribute("src"), 30_000, "the player");
      const downloading = await bob.driver.executeScript(() => !document.querySelector("[data-testid=player-download]")?.hidden);
      const measured = await bob.driver.executeAsyncScript((done) => {
        const v = document.querySelector("[data-testid=player-video]");
        const how = "requestVideoFrameCallback" in v ? "first presented frame" : "playing event";
        const t0 = performance.now();
        const finish = () => done({ ms: performance.now() - t0, how });
        if (how === "first presented frame") v.requestVideoFrameCallback(finish);
        else v.addEventListener("playing", finish, { once: true });
        document.querySelector("[data-testid=player-play]").click();
        setTimeout(() => done({ ms: -1, how }), 20_000);
      });
      results.push({ ...measured, downloading });
    }
  } finally {
    await bob.stop();
    await hub.stop();
  }
  return results;
}

const cold = await coldStart();
console.log(`cold start to interactive inbox (ms): ${cold.join(", ")}; median ${median(cold)} (goal <= 1500)`);
const shortcut = await shortcutToFrame();
console.log(
  `global shortcut to first recorded frame (ms, key press to frame): ${shortcut.times.join(", ")}; median ${median(shortcut.times)} (goal <= 500); ` +
    `inside the app: median ${median(shortcut.inProcess)}`,
);
const plays = await playToFrame();
const first = plays[0];
const local = plays.slice(1).map((p) => Math.round(p.ms));
console.log(
  `click Play to first frame (ms, ${first.how}): first play ${Math.round(first.ms)}${first.downloading ? " (still downloading)" : ""}; ` +
    `downloaded: ${local.join(", ")}; median ${median(local)} (goal <= 500)`,
);
