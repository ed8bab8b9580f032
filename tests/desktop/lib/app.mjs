// Starts the real Pigeon desktop app under tauri-driver and hands back a
// WebDriver session to it. Needs the test environment (scripts/test-env):
// an X display and a session bus.

import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Builder, Capabilities } from "selenium-webdriver";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const artifactsDir = path.join(repoRoot, "target", "test-artifacts");
const cargoTarget = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
export const appBinary = process.env.PIGEON_DESKTOP_BIN ?? path.join(cargoTarget, "debug", "pigeon-desktop");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited early with code ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not listen on ${port} within ${seconds}s`);
}

/** Pids of the processes whose environment holds PIGEON_HOME=`home` (the app and its children). */
function processesOfHome(home) {
  const marker = `\0PIGEON_HOME=${home}\0`;
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (`\0${readFileSync(`/proc/${entry}/environ`, "latin1")}`.includes(marker)) pids.push(Number(entry));
    } catch {
      // gone already, or not ours to read
    }
  }
  return pids;
}

/**
 * Stops whatever still runs with this app's PIGEON_HOME. WebKitWebDriver does not
 * always end the app when its session is deleted, and an app left behind keeps the
 * log pipes open, so the test runner would wait for it forever.
 */
async function stopAppProcesses(home) {
  for (const signal of ["SIGTERM", "SIGKILL"]) {
    const pids = processesOfHome(home).filter((pid) => pid !== process.pid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    for (let i = 0; i < 50 && processesOfHome(home).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * Launches the app with a private PIGEON_HOME. `name` labels its log file under
 * target/test-artifacts/; `settings` (TOML text) is written as the user's settings first.
 * Returns { driver, home, logPath, stop }.
 */
export async function launchApp(name, { env = {}, settings } = {}) {
  for (const variable of ["DISPLAY", "DBUS_SESSION_BUS_ADDRESS"]) {
    if (!process.env[variable]) throw new Error(`${variable} is not set: run desktop tests through scripts/test-env`);
  }
  if (!existsSync(appBinary)) {
    throw new Error(`${appBinary} does not exist: build it with \`cargo build -p pigeon-desktop\``);
  }
  mkdirSync(artifactsDir, { recursive: true });
  const home = mkdtempSync(path.join(tmpdir(), `pigeon-${name}-`));
  if (settings !== undefined) {
    mkdirSync(path.join(home, "config"), { recursive: true });
    writeFileSync(path.join(home, "config", "settings.toml"), settings);
  }
  const logPath = path.join(artifactsDir, `${name}.log`);
  const log = createWriteStream(logPath);

  const port = await freePort();
  const nativePort = await freePort();
  // The app inherits tauri-driver's environment through WebKitWebDriver.
  const driverProcess = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    env: { ...process.env, PIGEON_HOME: home, RUST_LOG: "info", NO_AT_BRIDGE: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  driverProcess.stdout.pipe(log, { end: false });
  driverProcess.stderr.pipe(log, { end: false });
  const exited = new Promise((resolve) => driverProcess.once("exit", resolve));

  const stopDriver = async () => {
    if (driverProcess.exitCode === null) {
      // SIGTERM, never SIGKILL: a killed tauri-driver orphans WebKitWebDriver.
      driverProcess.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    await stopAppProcesses(home);
    driverProcess.stdout.destroy();
    driverProcess.stderr.destroy();
    log.end();
  };

  let driver;
  try {
    await waitForPort(port, driverProcess, 20);
    const capabilities = new Capabilities();
    capabilities.setBrowserName("wry");
    capabilities.set("tauri:options", { application: appBinary });
    driver = await new Builder().withCapabilities(capabilities).usingServer(`http://127.0.0.1:${port}/`).build();
  } catch (error) {
    await stopDriver();
    throw error;
  }

  const stop = async () => {
    try {
      await withTimeout(driver.quit(), 15_000, "closing the WebDriver session");
    } finally {
      await stopDriver();
    }
  };
  return { driver, home, logPath, stop };
}

/** Saves a PNG of the app's window under target/test-artifacts/. */
export async function screenshot(driver, name) {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  writeFileSync(file, Buffer.from(await driver.takeScreenshot(), "base64"));
  return file;
}

/**
 * A user's settings file: `store` is { path } for a shared folder or { url, token } for a
 * hub; `camera` is the remembered camera ("test-pattern" records the moving test
 * pattern; null leaves it unchosen, as for a new user).
 */
export function settingsToml(user, store, { camera = "test-pattern" } = {}) {
  const storeLines = store.url
    ? `kind = "hub"\nurl = "${store.url}"\ntoken = "${store.token}"\n`
    : `kind = "folder"\npath = "${store.path}"\n`;
  const desktop = camera === null ? "" : `\n[desktop]\ncamera = "${camera}"\n`;
  return `user = "${user}"\n\n[store]\n${storeLines}${desktop}`;
}
