// The desktop shell, driven for real: window, first screen, global shortcut
// (pressed with xdotool), tray menu (clicked over D-Bus).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { By, until } from "selenium-webdriver";
import { launchApp, screenshot, settingsToml } from "./lib/app.mjs";
import { clickTrayItem } from "./lib/tray.mjs";
import { ui } from "./lib/ui.mjs";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const WAIT = 20_000;

describe("desktop shell", () => {
  let app;
  let driver;

  before(async () => {
    app = await launchApp("shell", {
      settings: settingsToml("e2e-alice", { path: "/tmp/pigeon-e2e-shared" }),
    });
    driver = app.driver;
  });

  after(async () => {
    await app?.stop();
  });

  async function text(selector) {
    const el = await driver.wait(until.elementLocated(By.css(selector)), WAIT);
    return el.getText();
  }

  async function waitForText(selector, expected) {
    const el = await driver.wait(until.elementLocated(By.css(selector)), WAIT);
    await driver.wait(until.elementTextContains(el, expected), WAIT);
    return el.getText();
  }

  it("opens a window titled Pigeon on an empty inbox with a Record button", async () => {
    await driver.wait(until.elementLocated(By.css("[data-testid=inbox-empty]")), WAIT);
    assert.equal(await driver.getTitle(), "Pigeon");
    assert.match(await text("#inbox-title"), /Inbox/);
    assert.match(await text("[data-testid=inbox-empty]"), /Nothing waiting for you/);
    const record = await driver.findElement(By.css("[data-testid=record-button]"));
    assert.equal(await record.getText(), "Record");
    // The status bar comes from the shell_status command: the IPC works and the shortcut is live.
    await waitForText("[data-testid=statusbar]", "Quick record: Ctrl+Shift+Alt+R");
    // The identity comes from the settings in this instance's own PIGEON_HOME.
    assert.match(await waitForText("[data-testid=identity]", "e2e-alice"), /Folder store/);
    await screenshot(driver, "shell-first-screen");
  });

  /** Switches the session to the quick recorder window once it exists; returns the main window's handle. */
  async function toQuickWindow() {
    const main = await driver.getWindowHandle();
    const quick = await driver.wait(async () => (await driver.getAllWindowHandles()).find((h) => h !== main), WAIT, "the quick recorder window");
    await driver.switchTo().window(quick);
    return main;
  }

  it("starts recording at once in the quick recorder when the global shortcut is pressed", async () => {
    await run("xdotool", ["key", "--clearmodifiers", "ctrl+shift+alt+r"]);
    const main = await toQuickWindow();
    const q = ui(driver);
    await q.waitSeconds("quick-elapsed", 2, WAIT);
    const lit = await q.until(() => {
      const c = document.querySelector("[data-testid=quick-preview]");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      return px.some((v, i) => i % 4 !== 3 && v > 0);
    }, WAIT, "preview frames in the quick recorder");
    assert.ok(lit);
    await screenshot(driver, "shell-quick-recorder");
    await q.click("quick-stop");
    // Stop goes on to Compose in the main window.
    await driver.switchTo().window(main);
    await ui(driver).find("compose");
    await screenshot(driver, "shell-quick-compose");
    const log = readFileSync(app.logPath, "utf8");
    assert.match(log, /global shortcut to first recorded frame ms=\d+/);
  });

  it("starts a quick recording from the tray menu's Quick record item", async () => {
    await clickTrayItem("Quick record");
    const main = await toQuickWindow();
    const q = ui(driver);
    await q.waitSeconds("quick-elapsed", 1, WAIT);
    await screenshot(driver, "shell-quick-from-tray");
    await q.click("quick-discard");
    await driver.switchTo().window(main);
  });

  it("keeps running in the tray when the main window is closed, and Open Pigeon brings it back", async () => {
    const visible = async () =>
      (await run("xdotool", ["search", "--onlyvisible", "--name", "^Pigeon$"]).catch(() => ({ stdout: "" }))).stdout.trim();
    const window = (await visible()).split("\n")[0];
    assert.ok(window, "the main window is on screen");
    await run("python3", [path.join(here, "lib", "close_window.py"), window]);
    await driver.wait(async () => (await visible()) === "", WAIT, "the main window to be hidden");
    // Still running: the tray menu answers and the page keeps its state.
    await clickTrayItem("Open Pigeon");
    await driver.wait(async () => (await visible()) !== "", WAIT, "the main window to come back");
    assert.equal(await driver.getTitle(), "Pigeon");
    await screenshot(driver, "shell-back-from-tray");
  });

  it("logged no errors", () => {
    const log = readFileSync(app.logPath, "utf8");
    const errors = log.split("\n").filter((line) => /\bERROR\b/.test(line));
    assert.deepEqual(errors, []);
  });
});
