// Release numbers, run under scripts/test-env after `scripts/package` (see
// docs/performance.md): the release app's cold start to an interactive inbox, its
// memory after PIGEON_IDLE_MINUTES (default 10) in the tray with the window closed
// (RSS of the app and its WebKit processes together), and the release hub's RSS idle.
// PIGEON_DESKTOP_BIN / PIGEON_HUB_BIN name other binaries.

import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { settingsToml } from "./lib/app.mjs";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? path.join(here, "..", "..", "target");
const appBin = process.env.PIGEON_DESKTOP_BIN ?? path.join(target, "release", "pigeon-desktop");
const hubBin = process.env.PIGEON_HUB_BIN ?? path.join(target, "release", "pigeon-hub");
const minutes = Number(process.env.PIGEON_IDLE_MINUTES ?? 10);
const ROUNDS = 3;

/** Proportional set size: shared pages split between the processes that map them. */
const pssKib = (pid) => {
  const m = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+) kB/m);
  return m ? Number(m[1]) : 0;
};

const kib = (pid, field) => {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : 0;
};

/** The process and every descendant, with their names. */
function tree(root) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const walk = (pid) => {
    out.push({ pid, name: readFileSync(`/proc/${pid}/comm`, "utf8").trim() });
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

function startApp() {
  const home = mkdtempSync(path.join(tmpdir(), "pigeon-idle-"));
  mkdirSync(path.join(home, "config"), { recursive: true });
  writeFileSync(
    path.join(home, "config", "settings.toml"),
    settingsToml("idle", { path: mkdtempSync(path.join(tmpdir(), "pigeon-idle-store-")) }),
  );
  const child = spawn(appBin, [], {
    env: { ...process.env, PIGEON_HOME: home, RUST_LOG: "info", NO_AT_BRIDGE: "1", NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines = createInterface({ input: child.stderr });
  const coldStart = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no cold-start line within 60 s")), 60_000);
    lines.on("line", (line) => {
      const m = line.match(/cold start to interactive inbox ms=(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    child,
    coldStart,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
    },
  };
}

const colds = [];
for (let i = 0; i < ROUNDS; i++) {
  const app = startApp();
  colds.push(await app.coldStart);
  await app.stop();
}
console.log(`release app: cold start to interactive inbox (ms): ${colds.join(", ")}`);

const app = startApp();
await app.coldStart;
const { stdout } = await run("xdotool", ["search", "--sync", "--onlyvisible", "--name", "^Pigeon$"]);
await run("python3", [path.join(here, "lib", "close_window.py"), stdout.trim().split("\n")[0]]);
console.log(`release app: window closed to the tray; idle for ${minutes} min`);
await new Promise((r) => setTimeout(r, minutes * 60_000));
const procs = tree(app.child.pid).map((p) => ({ ...p, rss: kib(p.pid, "VmRSS"), pss: pssKib(p.pid) }));
const mb = (k) => (k / 1024).toFixed(1);
for (const p of procs) console.log(`  ${p.name} (pid ${p.pid}): RSS ${mb(p.rss)} MB, PSS ${mb(p.pss)} MB`);
const sum = (f) => procs.reduce((s, p) => s + p[f], 0);
console.log(
  `release app after ${minutes} min in the tray, the app and its WebKit processes together: RSS ${mb(sum("rss"))} MB (shared libraries counted in each), PSS ${mb(sum("pss"))} MB (goal <= 200)`,
);
await app.stop();

const data = mkdtempSync(path.join(tmpdir(), "pigeon-idle-hub-"));
await run(hubBin, ["--data", data, "user", "add", "alice"]);
const hub = spawn(hubBin, ["--data", data, "serve", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "ignore"] });
await new Promise((resolve) => createInterface({ input: hub.stdout }).once("line", resolve));
await new Promise((r) => setTimeout(r, 60_000));
console.log(`release hub idle after 1 min: RSS ${(kib(hub.pid, "VmRSS") / 1024).toFixed(1)} MB`);
hub.kill("SIGTERM");
