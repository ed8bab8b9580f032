// A real pigeon-hub process on loopback, and the `pigeon` CLI, for desktop tests
// that need a second user or a store that can go away and come back.

import { execFile, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { artifactsDir, repoRoot, settingsToml } from "./app.mjs";

const run = promisify(execFile);
const cargoTarget = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
export const hubBinary = path.join(cargoTarget, "debug", "pigeon-hub");
export const cliBinary = path.join(cargoTarget, "debug", "pigeon");

/**
 * Starts `pigeon-hub serve` on `port` (0: a free one) over `data` (a new folder when
 * omitted). Returns { url, port, data, addUser(name, tz), stop() }.
 */
export async function startHub(name, { data, port = 0 } = {}) {
  data ??= mkdtempSync(path.join(tmpdir(), `pigeon-hub-${name}-`));
  mkdirSync(artifactsDir, { recursive: true });
  const log = createWriteStream(path.join(artifactsDir, `${name}-hub.log`), { flags: "a" });
  const child = spawn(hubBinary, ["--data", data, "serve", "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const firstLine = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the hub did not start within 20 s")), 20_000);
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once("exit", (code) => reject(new Error(`the hub exited with ${code}`)));
  });
  const url = firstLine.trim().split(" ").pop();
  return {
    url,
    port: Number(url.split(":").pop()),
    data,
    async addUser(user, tz = "Europe/Berlin") {
      const { stdout } = await run(hubBinary, ["--data", data, "user", "add", user, "--tz", tz]);
      return stdout.trim();
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
      log.end();
    },
  };
}

/** Settings TOML for a desktop user on a hub, recording the test pattern. */
export function hubSettings(user, url, token, options = {}) {
  return settingsToml(user, { url, token }, options);
}

/** Runs the `pigeon` CLI as the user living in `home`; returns parsed --json output. */
export async function pigeon(home, ...args) {
  const { stdout } = await run(cliBinary, ["--json", ...args], {
    env: { ...process.env, PIGEON_HOME: home },
    timeout: 120_000,
  });
  const lines = stdout.trim().split("\n").filter(Boolean);
  return lines.length ? JSON.parse(lines[lines.length - 1]) : null;
}

/** A fresh PIGEON_HOME for a CLI user logged in to `url` with `token`. */
export async function cliUser(name, url, token) {
  const home = mkdtempSync(path.join(tmpdir(), `pigeon-cli-${name}-`));
  await pigeon(home, "login", "--hub", url, "--token", token);
  return home;
}
