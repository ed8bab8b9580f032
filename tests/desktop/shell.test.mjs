// The desktop shell, driven for real: window, first screen, global shortcut
// (pressed with xdotool), tray menu (clicked over D-Bus).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { By, until } from "selenium-webdriver";
import { launchApp, screenshot } from "./lib/app.mjs";
import { clickTrayItem } from "./lib/tray.mjs";

const run = promisify(execFile);
const WAIT = 20_000;

describe("desktop shell", () => {
  let app;
  let driver;

  before(async () => {
    app = await launchApp("shell", {
      settings: `user = "e2e-alice"\n\n[store]\nkind = "folder"\npath = "/tmp/pigeon-e2e-shared"\n`,
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

  it("opens the recorder when the global shortcut is pressed", async () => {
    await run("xdotool", ["key", "--clearmodifiers", "ctrl+shift+alt+r"]);
    const origin = await waitForText("[data-testid=record-origin]", "global shortcut");
    assert.equal(origin, "Opened with the global shortcut Ctrl+Shift+Alt+R.");
    assert.equal(await text("#record-title"), "Quick record");
    await screenshot(driver, "shell-after-shortcut");
  });

  it("opens the recorder from the tray menu's Quick record item", async () => {
    await driver.findElement(By.css("[data-testid=back-to-inbox]")).click();
    await driver.wait(until.elementLocated(By.css("[data-testid=inbox-empty]")), WAIT);
    await clickTrayItem("Quick record");
    const origin = await waitForText("[data-testid=record-origin]", "tray menu");
    assert.equal(origin, "Opened from Quick record in the tray menu.");
    await screenshot(driver, "shell-after-tray");
  });

  it("logged no errors", () => {
    const log = readFileSync(app.logPath, "utf8");
    const errors = log.split("\n").filter((line) => /\bERROR\b/.test(line));
    assert.deepEqual(errors, []);
  });
});
